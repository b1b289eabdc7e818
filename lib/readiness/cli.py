"""`readiness demo | run | sandbox up | checks` — exit codes: 0 GO, 1 NO-GO, 2 usage or
configuration error (or outputs that cannot be written), 3 could not verify critical
checks, 4 the audit could not complete (nothing published), 130 interrupted."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from readiness.config import ConfigError, Verdict, load_config
from readiness.runner import AuditFailed, OutputError, PublishError
from readiness.sources.base import CANCEL

if TYPE_CHECKING:
    from readiness.sandbox.dataset import DatasetSize

EXIT_USAGE = 2
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130
STOP_GRACE_S = 15.0  # how long an interrupted run waits for its sources to stop
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SANDBOX_DIR = REPO_ROOT / ".cache" / "sandbox"
console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class UsageError(Exception):
    """Bad arguments or inputs: exit code 2."""


class Progress:
    """A live status line on a terminal; milestone lines everywhere (CI logs too)."""

    MILESTONES = ("done", "executing", "rendered", "collecting", "starting", "stopped", "up in")

    def __init__(self) -> None:
        self._status = console.status("working…") if console.is_terminal else None

    def __enter__(self) -> Progress:
        if self._status:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status:
            self._status.stop()

    def __call__(self, msg: str) -> None:
        if self._status:
            self._status.update(Text(msg))
        if any(m in msg for m in self.MILESTONES):
            console.print(Text.assemble(("·", "dim"), " ", msg))


def _print_result(result) -> None:  # noqa: ANN001 - RunResult, imported lazily
    v = result.verdict
    color = {"GO": "green", "NO-GO": "red", "CANNOT CONFIRM": "yellow"}[v.verdict]
    if result.report_html.is_file():
        out.print(f"\nReport: {result.report_html}")
    else:
        out.print(f"\nOutputs: {result.folder} ({', '.join(result.files())})")
    out.print(f"Verdict: [bold {color}]{v.verdict}[/]  score {v.score:.1f}/10")
    problem = ("fail", "warn", "not_verified", "waived")
    counts = ", ".join(f"{k} {n}" for k, n in result.counts.items() if n and k in problem)
    rest = ", ".join(f"{k} {n}" for k, n in result.counts.items() if n and k not in problem)
    where = f" at {result.locations} locations" if result.locations else ""
    out.print(f"Problems: {counts or 'none'}{where}" + (f"; also {rest}" if rest else ""))
    for cap in v.caps:
        out.print(f"  - {cap}")
    if result.top_blockers:
        out.print("What blocks launch (top 5):")
        for line in result.top_blockers:
            out.print(f"  {line}", markup=False, highlight=False)
    for name, state in result.sources.items():
        if state.status == "error":
            out.print(f"  - source {name} failed: {state.reason}", markup=False)
    out.print(f"Took {result.seconds:.1f}s")


def cmd_run(args: argparse.Namespace) -> int:
    from readiness.runner import run_audit

    config = load_config(args.params)
    if args.fail_on:
        config = config.model_copy(update={"verdict": Verdict(fail_on=args.fail_on)})
    with Progress() as progress:
        result = run_audit(
            config,
            Path(args.output_dir),
            notebooks=not args.no_notebooks,
            workers=args.workers,
            progress=progress,
        )
    _print_result(result)
    return result.verdict.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from readiness.runner import run_audit
    from readiness.sandbox.runtime import Sandbox

    t = time.monotonic()
    with Progress() as progress:
        progress(f"starting the demo platform (profile {args.profile})…")
        with Sandbox(Path(args.workdir), profile=args.profile, seed=args.seed) as sandbox:
            progress(
                f"demo platform up in {time.monotonic() - t:.1f}s: Postgres, Stripe and "
                "panel emulators on loopback"
            )
            config = load_config(sandbox.params_file)
            result = run_audit(
                config, Path(args.output_dir), workers=args.workers, progress=progress
            )
        progress("demo platform stopped")
    _print_result(result)
    planted = len(sandbox.manifest()["defects"])
    out.print(
        f"The '{args.profile}' profile planted {planted} known defects "
        f"(manifest: {sandbox.workdir / 'manifest.json'})."
    )
    return result.verdict.exit_code if args.gate else 0


def dataset_size(args: argparse.Namespace) -> DatasetSize:
    """The demo size, with what `sandbox up` was given on top (DatasetSize owns the
    defaults, so the flags cannot drift from them)."""
    from readiness.sandbox.dataset import DatasetSize

    given = {f.name: getattr(args, f.name, None) for f in fields(DatasetSize)}
    return DatasetSize(**{k: v for k, v in given.items() if v is not None})


def cmd_sandbox_up(args: argparse.Namespace) -> int:
    from readiness.sandbox.httpbase import Knobs
    from readiness.sandbox.runtime import Sandbox

    size = dataset_size(args)
    latency = args.latency_ms / 1000
    sandbox = Sandbox(
        Path(args.workdir),
        profile=args.profile,
        seed=args.seed,
        size=size,
        stripe_knobs=Knobs(latency_s=latency, rate_limit=args.stripe_rate, rate_window_s=1.0),
        panel_knobs=Knobs(latency_s=latency, rate_limit=args.panel_rate, rate_window_s=60.0),
    ).start()
    (sandbox.workdir / "ready").write_text(str(os.getpid()))
    out.print(f"Demo platform running (profile {args.profile}).")
    out.print(f"  params:   {sandbox.params_file}")
    out.print(f"  env file: {sandbox.env_file}  (credentials; never commit)")
    out.print(f"  platform: {sandbox.platform_dir}")
    out.print(f"  Stripe:   {sandbox.stripe.url if sandbox.stripe else ''}")
    out.print(f"  panel:    {sandbox.panel.url if sandbox.panel else ''}")
    out.print("Notebooks: jupyter lab notebooks/ (params/demo.yaml points here). Ctrl-C stops.")
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        (sandbox.workdir / "ready").unlink(missing_ok=True)
        sandbox.stop()
        out.print("Demo platform stopped.")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """A change report: counts by kind, then new, resolved and changed problems."""
    from readiness.report.diff import compare, load_findings
    from readiness.report.diff_render import render_table, to_json_doc, to_markdown

    try:
        report = compare(load_findings(args.old), load_findings(args.new))
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":  # plain stdout: rich would wrap or highlight it
        sys.stdout.write(json.dumps(to_json_doc(report, show_all=args.all), indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(to_markdown(report, show_all=args.all, old=args.old, new=args.new))
    else:
        out.print(render_table(report, show_all=args.all))
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    from readiness.checks.registry import all_checks

    specs = all_checks([args.area] if args.area else None)
    if args.format == "json":
        out.print_json(json.dumps([s.to_dict() for s in specs]))
        return 0
    table = Table(title=f"{len(specs)} registered checks")
    for col in ("id", "area", "severity", "precision"):
        table.add_column(col, no_wrap=True)
    table.add_column("title (sources)", ratio=1, min_width=24)
    for s in specs:
        p = s.precision
        shown = f"{p.level} {p.value:.0%} n={p.labelled}" if p.measured else "not measured"
        title = f"{s.title} ({', '.join(s.sources)})"
        table.add_row(s.id, str(s.area), str(s.severity), shown, title)
    out.print(table)
    return 0


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="readiness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="audit the platform described by a params file")
    run.add_argument("--params", required=True, help="params YAML (names env vars, no secrets)")
    run.add_argument("--output-dir", default="outputs")
    run.add_argument(
        "--workers", type=positive_int, default=2, help="notebooks executed in parallel"
    )
    run.add_argument("--no-notebooks", action="store_true", help="exports only, no notebooks")
    run.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "low"],
        help="lowest severity of an unwaived failure that makes the run NO-GO "
        "(default: verdict.fail_on in params)",
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="start the embedded demo platform, audit it, stop it")
    demo.add_argument("--profile", choices=["defects", "clean"], default="defects")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--output-dir", default="outputs")
    demo.add_argument("--workdir", default=str(DEFAULT_SANDBOX_DIR))
    demo.add_argument("--workers", type=positive_int, default=2)
    demo.add_argument(
        "--gate",
        action="store_true",
        help="exit with the verdict's code (default: 0 when the audit completed)",
    )
    demo.set_defaults(func=cmd_demo)

    sandbox = sub.add_parser("sandbox", help="the embedded demo platform")
    sandbox_sub = sandbox.add_subparsers(dest="action", required=True)
    up = sandbox_sub.add_parser("up", help="start it and keep it running for notebooks")
    up.add_argument("--profile", choices=["defects", "clean"], default="defects")
    up.add_argument("--seed", type=int, default=7)
    up.add_argument("--workdir", default=str(DEFAULT_SANDBOX_DIR))
    size = up.add_argument_group("size and behaviour (benchmarks)")
    size.add_argument("--users", type=int, help="default: the demo size")
    size.add_argument("--orders", type=int)
    size.add_argument("--nodes", type=int)
    size.add_argument("--servers", type=int, help="cap on running servers (rest is history)")
    size.add_argument("--history-days", type=int, help="orders spread over this many days")
    size.add_argument("--latency-ms", type=float, default=0.0, help="per request, both APIs")
    size.add_argument("--stripe-rate", type=int, help="Stripe requests per second (429 above)")
    size.add_argument("--panel-rate", type=int, help="panel requests per minute (429 above)")
    up.set_defaults(func=cmd_sandbox_up)

    diff = sub.add_parser("diff", help="what changed between two runs (folders or findings.json)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    diff.add_argument(
        "--all", action="store_true", help="list the problems that are still there too"
    )
    diff.set_defaults(func=cmd_diff)

    checks = sub.add_parser("checks", help="list the registered checks")
    checks.add_argument("--area", type=int, choices=range(1, 11))
    checks.add_argument("--format", choices=["table", "json"], default="table")
    checks.set_defaults(func=cmd_checks)
    return p


class _Interrupts:
    """Ctrl-C and SIGTERM: the first sets the run-wide CANCEL (sources stop waiting) and
    raises KeyboardInterrupt in the main thread, so every `finally` stops what it started;
    a second is acknowledged while that clean-up runs; a third quits at once."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        CANCEL.clear()

    def _handle(self, signum: int, _frame: object) -> None:
        self.count += 1
        CANCEL.set()
        if self.count == 1:
            raise KeyboardInterrupt
        if self.count == 2:
            console.print("stopping: cleaning up what this run started (again to quit now)")
            return
        os._exit(EXIT_INTERRUPTED)


def _error(label: str, message: str) -> None:
    """One error line, as plain text (it may hold brackets), with any URL credentials
    masked (an unexpected error's text can quote a URL)."""
    from readiness.redact import scrub

    console.print(Text.assemble((label, "bold red"), " ", scrub(message)))


def _wait_for_sources(grace_s: float) -> None:
    """Give source threads (which see CANCEL) a bounded moment to clean up."""
    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    with _Interrupts():
        try:
            return int(args.func(args))
        except (ConfigError, UsageError, OutputError) as exc:
            _error("error:", str(exc))
            return EXIT_USAGE
        except (AuditFailed, PublishError) as exc:  # e.g. a secret value in the outputs
            _error("audit failed:", str(exc))
            return EXIT_FAILED
        except KeyboardInterrupt:
            console.print("interrupted: stopped, nothing was published")
            _wait_for_sources(STOP_GRACE_S)
            return EXIT_INTERRUPTED
        except Exception as exc:  # a bug must still end in one line, never exit 1 (NO-GO)
            if os.environ.get("READINESS_DEBUG"):
                raise
            _error(
                "internal error:",
                f"{type(exc).__name__}: {exc} "
                "(nothing was published; READINESS_DEBUG=1 shows the traceback)",
            )
            return EXIT_FAILED


def entry() -> None:
    """Console script: like `main`, but an interrupted run never lingers at exit on a
    thread that did not stop in time."""
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
