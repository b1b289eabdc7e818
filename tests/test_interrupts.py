"""A run ends cleanly however it ends: the clean demo publishes a GO through every
notebook into a fresh root; Ctrl-C stops within seconds, stops what the run started and
exits 130 without a traceback; a killed run leaves no worker behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from readiness.cli import main
from readiness.sandbox.platform_tree import materialize_platform

pytestmark = [pytest.mark.integration]
REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("readiness")


@pytest.mark.xdist_group("clean-demo")
def test_clean_demo_is_a_go_through_the_notebooks_in_a_fresh_root(tmp_path, capsys):
    root = tmp_path / "fresh-outputs"  # does not exist yet: no earlier run, no history
    code = main(
        [
            "demo",
            "--profile",
            "clean",
            "--output-dir",
            str(root),
            "--workdir",
            str(tmp_path / "sandbox"),
            "--gate",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    (folder,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    run = json.loads((folder / "run.json").read_text())
    assert run["verdict"] == "GO" and run["exit_code"] == 0
    assert len(run["notebooks"]) == 10
    html = (folder / "readiness-report.html").read_text()
    assert "Trend across runs" in html and "Traceback" not in html
    assert f"Report: {folder / 'readiness-report.html'}" in out


class _Silent:
    """A loopback server that accepts connections and never answers: a source waiting
    on it is busy until something stops it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def _params(tmp_path: Path, platform: Path, stripe_url: str | None, schema: bool) -> Path:
    (tmp_path / "expected_catalog.yaml").write_text(
        (REPO / "params" / "expected_catalog.yaml").read_text()
    )
    stripe = (
        f"{{api_key_env: READINESS_TEST_STRIPE_KEY, api_base: '{stripe_url}', "
        "timeout_s: 120, max_retries: 0, max_seconds: 300}"
        if stripe_url
        else "{enabled: false}"
    )
    p = tmp_path / "params.yaml"
    p.write_text(
        "environment: demo\n"
        "sources:\n  database: {enabled: false}\n  pterodactyl: {enabled: false}\n"
        f"  stripe: {stripe}\n  codebase: {{path: '{platform}'}}\n"
        f"  schema: {{enabled: {str(schema).lower()}}}\n"
    )
    return p


def _start(params: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "READINESS_TEST_STRIPE_KEY": "rk_test_" + "y" * 24}
    return subprocess.Popen(
        [str(EXE), "run", "--params", str(params), "--output-dir", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )


def _wait_for(cond, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _gone(procs: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Those of `procs` still running after `seconds` (zombies and the vanished excluded)."""
    _gone_, alive = psutil.wait_procs(procs, timeout=seconds)
    running = []
    for p in alive:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                running.append(p)
        except psutil.Error:
            continue
    return running


def _interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> tuple[float, str]:
    """Signal the whole group (what Ctrl-C in a terminal does); seconds until exit."""
    t = time.monotonic()
    os.killpg(proc.pid, sig)
    _out, err = proc.communicate(timeout=60)
    return time.monotonic() - t, err


@pytest.mark.parametrize(
    "moment",
    [
        "initdb",  # while the cluster is being created (initdb and its postgres child)
        "[local]",  # while a backend replays the (sleeping) migration
    ],
)
def test_ctrl_c_during_collection_stops_promptly(tmp_path, moment):
    """Stripe hangs and the schema replay sleeps: the first Ctrl-C still ends the run in
    seconds, with exit 130, no traceback, no staging and no server left behind — whether
    the scratch cluster is being created or already replaying."""
    platform = tmp_path / "platform"
    migrations = platform / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_slow.sql").write_text("SELECT pg_sleep(600);\n")
    silent = _Silent()
    out = tmp_path / "out"
    proc = _start(_params(tmp_path, platform, silent.url, schema=True), out)
    try:
        _wait_for(lambda: silent.conns, 60, "the Stripe request")
        _wait_for(
            lambda: any(moment in c for c in _cmdlines(_descendants(proc.pid))),
            60,
            f"the scratch Postgres ({moment})",
        )
        started = _descendants(proc.pid)
        seconds, err = _interrupt(proc)
    finally:
        silent.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert seconds < 30, f"took {seconds:.1f}s to stop"
    assert not _gone(started, 15), "processes the run started are still running"
    assert not list(out.glob(".staging-*"))
    import tempfile

    scratch = list(Path(tempfile.gettempdir()).glob(f"readiness-schema-{proc.pid}-*"))
    assert not scratch, "the scratch cluster's folder is left behind"


def _notebook_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    platform = tmp_path / "platform"
    materialize_platform("clean", platform)
    out = tmp_path / "out"
    proc = _start(_params(tmp_path, platform, None, schema=False), out)
    _wait_for(
        lambda: any("ipykernel" in c for c in _cmdlines(_descendants(proc.pid))),
        120,
        "a notebook kernel",
    )
    return proc, out


def _cmdlines(procs: list[psutil.Process]) -> list[str]:
    lines = []
    for p in procs:
        try:
            lines.append(" ".join(p.cmdline()))
        except psutil.Error:
            continue
    return lines


def _kernels(procs: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if "ipykernel" in " ".join(p.cmdline()):
                found.append(p)
    return found


def test_ctrl_c_during_notebooks_stops_workers_and_kernels(tmp_path):
    proc, out = _notebook_run(tmp_path)
    try:
        started = _descendants(proc.pid)
        kernels = _kernels(started)
        assert kernels
        # a kernel stopped mid-start must not print into the user's console
        for kernel in kernels:
            with contextlib.suppress(FileNotFoundError, psutil.Error):
                assert os.readlink(f"/proc/{kernel.pid}/fd/2") == os.devnull
        seconds, err = _interrupt(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert seconds < 30, f"took {seconds:.1f}s to stop"
    assert not _gone(started, 15), _cmdlines(started)
    assert not list(out.glob(".staging-*"))
    assert not [p for p in out.iterdir() if not p.name.startswith(".")], "nothing is published"


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    proc, out = _notebook_run(tmp_path)
    try:
        started = _descendants(proc.pid)
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # the main process only, as a supervisor does
        _out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - t
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert seconds < 30
    assert not _gone(started, 15), _cmdlines(started)
    assert not list(out.glob(".staging-*"))


def test_a_killed_run_leaves_no_worker_behind(tmp_path):
    """SIGKILL to the main process alone: its notebook workers die with it and their
    kernels follow, so nothing keeps writing into the abandoned staging folder."""
    proc, out = _notebook_run(tmp_path)
    try:
        started = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    alive = _gone(started, 20)
    assert not alive, _cmdlines(alive)
    staging = list(out.glob(".staging-*"))
    assert staging, "the killed run had a staging folder"
    import tempfile

    from readiness.runner import remove_abandoned_staging

    def kernel_dirs() -> list[Path]:
        tmp = Path(tempfile.gettempdir())
        return [d for p in started for d in tmp.glob(f"readiness-kernel-{p.pid}-*")]

    assert kernel_dirs(), "the killed workers' kernels had socket folders"
    remove_abandoned_staging(out)
    assert not list(out.glob(".staging-*"))
    assert not kernel_dirs()


def _postgres_serving(folder: str) -> list[psutil.Process]:
    """Postgres servers of one data folder (pg_ctl detaches them, so they are not
    descendants of the run)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "postgres" in cmd and folder in cmd:
            found.append(p)
    return found


def _sandbox_pg_folder(workdir: Path) -> str | None:
    """The demo database's folder, from the socket directory in the env file it wrote."""
    env = workdir / "sandbox.env"
    if not env.is_file():
        return None
    for line in env.read_text().splitlines():
        if line.startswith("READINESS_DATABASE_URL=") and "host=" in line:
            return line.split("host=", 1)[1].split("&")[0]
    return None


@pytest.mark.xdist_group("clean-demo")
def test_ctrl_c_during_the_demo_stops_its_servers(tmp_path):
    """`readiness demo` interrupted while it audits: the embedded Postgres and the
    emulators it started are stopped, exit 130, no traceback."""
    workdir = tmp_path / "sb"
    proc = subprocess.Popen(
        [str(EXE), "demo", "--workdir", str(workdir), "--output-dir", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: any("ipykernel" in c for c in _cmdlines(_descendants(proc.pid))),
            120,
            "the notebooks",
        )
        folder = _sandbox_pg_folder(workdir)
        assert folder, "the demo wrote its env file"
        servers = _postgres_serving(folder)
        assert servers, "the demo's Postgres is running"
        seconds, err = _interrupt(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert seconds < 30
    assert not _gone(servers, 15), "the demo's Postgres is still running"
    assert not Path(folder).exists()
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]


def test_a_failing_notebook_is_exit_4_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    """A notebook that raises is the audit failing, not a verdict: one line naming the
    notebook and the error, exit 4 (never 1, which means NO-GO), nothing published."""
    import nbformat

    from readiness import runner

    books = tmp_path / "notebooks"
    books.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    params_cell = nbformat.v4.new_code_cell('params_file = ""\nsnapshot_dir = None')
    params_cell.metadata["tags"] = ["parameters"]
    nb.cells = [params_cell, nbformat.v4.new_code_cell("raise ValueError('boom in a chart')")]
    nbformat.write(nb, books / "01_broken.ipynb")
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", books)
    platform = tmp_path / "platform"
    materialize_platform("clean", platform)
    out = tmp_path / "out"
    params = _params(tmp_path, platform, None, schema=False)
    assert main(["run", "--params", str(params), "--output-dir", str(out)]) == 4
    err = capsys.readouterr().err
    assert "01_broken.ipynb" in err and "ValueError: boom in a chart" in err
    assert "Traceback" not in err
    assert not list(out.iterdir()), "nothing published, no staging left"
