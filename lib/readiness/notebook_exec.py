"""Notebooks executed by papermill on parallel worker processes, rendered to HTML.

Workers and their kernels are owned by the run: an interrupt or a failing notebook
stops them all at once, they die with a killed run, and kernels talk over Unix sockets
in private folders named after their worker (swept by the next run if it was killed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPORT_NOTEBOOK = "10_readiness_report.ipynb"
REPORT_NAME = "readiness-report"
KERNEL_DIR_PREFIX = "readiness-kernel-"


class AuditFailed(Exception):
    """The audit itself could not complete (a notebook failed): nothing was published.
    Not a verdict, so never exit 1 (NO-GO)."""


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
        kernel_manager_class="readiness.notebook_exec.QuietIPCKernelManager",
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


def run_notebooks(
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

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        import subprocess

        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


TEMPLATES = Path(__file__).parent / "report" / "templates"


def render_html(executed: Path) -> None:
    """Analyst HTML (with code) for area notebooks; the report also gets a reader HTML
    without code cells for people who never open Python. Both open offline: the
    templates (report/templates) drop the CDN scripts, and the reader swaps JupyterLab's
    stylesheet for a small one that keeps the page within the window."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    stem = executed.with_suffix("")
    dirs = [str(TEMPLATES)]
    if executed.stem == REPORT_NAME:
        reader = HTMLExporter(
            template_name="reader",
            extra_template_basedirs=dirs,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        stem.with_suffix(".html").write_text(reader.from_notebook_node(nb)[0], encoding="utf-8")
        analyst = stem.with_name(stem.name + ".analyst.html")
    else:
        analyst = stem.with_suffix(".html")
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=dirs)
    analyst.write_text(exporter.from_notebook_node(nb)[0], encoding="utf-8")
