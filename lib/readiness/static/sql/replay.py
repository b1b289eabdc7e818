"""Replaying a checkout's migrations statement by statement, bounded from outside.

Every statement runs in its own savepoint: a broken one is recorded (file, statement,
line, error) and the rest still applies. Migrations are attacker-controlled, and any of
them can switch the session's statement timeout off (`SET statement_timeout = 0` opens
every pg_dump file) or catch the cancel (`EXCEPTION WHEN query_canceled`), so on the
scratch server a `Guard` enforces the limit from a superuser session of its own: it
re-arms the server-side timeout before each statement, cancels a statement running past
the limit, terminates its backend if the cancel is caught, and stops the replay when the
run is cancelled (`readiness.sources.base.CANCEL`) or the source's time budget is spent.
A terminated session is reopened and the file's uncommitted statements replayed, so one
runaway statement costs that statement, not its file.

As the Supabase CLI does, each file starts with `RESET ALL` (a pg_dump file's
`set_config('search_path', '', false)` does not leak into the next one) and ends with its
row in `supabase_migrations.schema_migrations`, whose key is the version: a second file
with the same version fails there, as it does in `supabase db reset`. A statement that
fails for lack of a platform object is `compat` (see `platform.py`); a policy statement
or DROP TRIGGER on a platform table that fails for ownership is run again under the
owning service role, and a CREATE EXTENSION supautils would run (vector, moddatetime, …)
goes through the layer's whitelisting function, as supautils allows on Supabase.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from readiness.sources.base import CANCEL, Cancelled, SourceError, check_cancelled
from readiness.static.sql.facts import split_statements, statement_kind
from readiness.static.sql.platform import (
    created_names,
    granted_owner,
    platform_reason,
    privileged_extension,
)
from readiness.static.textfiles import is_text, read_text, sniff_file

COMPAT_SQL = Path(__file__).resolve().parents[2] / "sandbox" / "supabase_compat.sql"
NO_TX = "cannot run inside a transaction block"
MIGRATION_FILE = re.compile(r"^([0-9]+)_(.*)\.sql$")  # the Supabase CLI's rule
PRIVILEGED_SQL = "SELECT _readiness.create_extension(%s, coalesce(%s, current_schema()), %s)"
HISTORY_SQL = "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES (%s, %s)"
GRACE_S = 2.0  # between the cancel and the terminate of a statement that ignores it
TIMEOUT_HINT = "sources.schema.statement_timeout_s"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Guard:
    """Watches the statement in flight from its own superuser connection (a thread)."""

    def __init__(self, admin: Any, limit_s: float, budget_s: float, deadline: float) -> None:
        self.limit_s, self.budget_s, self.deadline = limit_s, budget_s, deadline
        self._admin = admin  # psycopg2 connection, autocommit, superuser; only the thread uses it
        self._lock = threading.Lock()
        self._current: tuple[int, float] | None = None  # backend pid, started
        self.reason: str | None = None  # why the watched statement was stopped
        self._cancelled_at: float | None = None
        self._terminated = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schema-guard", daemon=True)

    def __enter__(self) -> Guard:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @contextmanager
    def watch(self, pid: int) -> Iterator[None]:
        """Marks one statement of backend `pid` as running; `reason` tells afterwards."""
        with self._lock:
            self._current = (pid, time.monotonic())
            self.reason, self._cancelled_at, self._terminated = None, None, False
        try:
            yield
        finally:
            with self._lock:
                self._current = None

    def budget_error(self) -> SourceError:
        return SourceError(
            f"schema: gave up after {self.budget_s:g}s replaying the migrations "
            "(time budget sources.schema.max_seconds)"
        )

    def check(self) -> None:
        """Between statements: stop on Ctrl-C or once the budget is spent."""
        check_cancelled("schema")
        if time.monotonic() > self.deadline:
            raise self.budget_error()

    def raise_if_stopped(self) -> None:
        """After a statement: the replay ends if it was stopped for the run, not the limit."""
        if self.reason == "cancel":
            raise Cancelled("schema: stopped (the run was interrupted)")
        if self.reason == "budget":
            raise self.budget_error()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:  # decide and signal under the lock: never the next statement
                if self._current is not None:
                    self._police(*self._current)

    def _police(self, pid: int, started: float) -> None:
        now = time.monotonic()
        if self.reason is None:
            if CANCEL.is_set():
                self.reason = "cancel"
            elif now > self.deadline:
                self.reason = "budget"
            elif now - started > self.limit_s + 1:  # the server's own timer goes first
                self.reason = "timeout"
            else:
                return
        with contextlib.suppress(Exception):  # the admin session died: the server is going
            cur = self._admin.cursor()
            if self._cancelled_at is None:
                cur.execute("SELECT pg_catalog.pg_cancel_backend(%s)", (pid,))
                self._cancelled_at = now
            elif now - self._cancelled_at > GRACE_S and not self._terminated:
                cur.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (pid,))
                self._terminated = True


class _Lost(Exception):
    """The migration session died (terminated, crashed): reopen and replay the file."""


def _row(label: str, index: int, line: int, sql: str) -> dict:
    return {
        "file": label,
        "statement_no": index,
        "line": line,
        "kind": statement_kind(sql),
        "ok": True,
        "compat": False,
        "error": None,
        "statement": sql[:300],
        "platform": None,
        "cascade": False,
        "caused": False,
        "sql": sql,
    }


def _fail(row: dict, error: str, tainted: set[str]) -> None:
    """Record the failure; one for lack of a platform object taints what it creates."""
    reason = platform_reason(error, tainted)
    row.update(ok=False, error=error, compat=reason is not None, platform=reason)
    if reason is not None:
        tainted.update(created_names(row["sql"]))


class Replay:
    """Applies scripts on one session (a psycopg2 connection, not autocommit).

    With `connect` the session can be reopened after it dies; with `guard` every
    statement is bounded (see the module docstring).
    """

    def __init__(
        self,
        conn: Any = None,
        connect: Callable[[], Any] | None = None,
        guard: Guard | None = None,
        file_start: str = "RESET ALL",
    ) -> None:
        if conn is None:
            assert connect is not None
            conn = connect()
        self.conn, self._connect, self.guard = conn, connect, guard
        self.file_start = file_start  # as the CLI: no session setting crosses a file
        self.tainted: set[str] = set()  # names a platform-less statement did not create
        ms = int(guard.limit_s * 1000) if guard else 0
        # re-armed before each statement: an earlier one may have switched them off
        self._prep = (
            f"SAVEPOINT readiness_stmt; SET statement_timeout = {ms}; "
            "SET idle_in_transaction_session_timeout = 0; SET transaction_timeout = 0"
            if guard
            else "SAVEPOINT readiness_stmt"
        )

    def script(self, label: str, sql: str, version: str | None = None) -> list[dict]:
        """One row per statement (see schema_migrations); transaction control is skipped.
        With `version`, the file's history row is inserted last, as the CLI does; only a
        failing insert (a duplicate version) adds a row."""
        stmts = split_statements(sql)
        rows = [_row(label, s.index, s.line, s.sql) for s in stmts]
        if self.file_start:
            self._statement(self.file_start)
        base = 0  # statements before it are committed (a no-transaction statement ran)
        seen = 0  # statements before it ran once already (we are replaying after a loss)
        i = 0
        while i < len(stmts):
            row = rows[i]
            if row["kind"] == "TransactionStmt" or (i < seen and not row["ok"]):
                i += 1
                continue
            try:
                error, committed = self._statement(stmts[i].sql)
            except _Lost as lost:
                _fail(row, str(lost), self.tainted)
                self._reopen()
                seen, i = max(seen, i + 1), base
                continue
            if committed:
                base = i + 1
            if error is not None:
                _fail(row, error, self.tainted)
            i += 1
        if version is not None:
            rows += self._history(label, version, sql, len(stmts) + 1)
        self._commit()
        return rows

    def _history(self, label: str, version: str, sql: str, index: int) -> list[dict]:
        match = MIGRATION_FILE.match(label.rsplit("/", 1)[-1])
        name = match.group(2) if match else ""
        try:
            error, _ = self._statement(HISTORY_SQL, (version, name))
        except _Lost as lost:
            error = str(lost)
            self._reopen()
        if error is None:
            return []
        row = _row(label, index, 1, HISTORY_SQL % (repr(version), repr(name)))
        row["kind"] = "MigrationHistory"
        if "duplicate key" in error:
            error = f"version {version} is already used by an earlier file: {error}"
        _fail(row, error, self.tainted)
        return [row]

    def _commit(self) -> None:
        try:
            self.conn.commit()
        except Exception as exc:
            if not self.conn.closed:
                raise
            raise SourceError(f"schema: the migration session died: {first_line(exc)}") from None

    def _reopen(self) -> None:
        if self._connect is None:
            raise SourceError("schema: the migration session died")
        end = time.monotonic() + 15
        while True:  # after a backend crash the server takes a moment to recover
            if self.guard:
                self.guard.check()
            try:
                self.conn = self._connect()
                return
            except Exception as exc:
                if time.monotonic() > end:
                    raise SourceError(f"schema: could not reconnect: {first_line(exc)}") from None
                time.sleep(0.2)

    def _statement(self, sql: str, params: tuple | None = None) -> tuple[str | None, bool]:
        """(error or None, whether the transaction was committed to run it)."""
        if self.guard:
            self.guard.check()
        try:
            cur = self.conn.cursor()
            cur.execute(self._prep)
            error = self._run(cur, sql, params)
            if error is not None and "must be owner of" in error:
                error = self._as_owner(cur, sql, error)
            if error is not None and "permission denied to create extension" in error:
                error = self._privileged(cur, sql, error)
            if error is None:
                cur.execute("RELEASE SAVEPOINT readiness_stmt")
                return None, False
            cur.execute("ROLLBACK TO SAVEPOINT readiness_stmt")
            if NO_TX not in error:
                return error, False
            # e.g. CREATE INDEX CONCURRENTLY: run it outside a transaction
            self.conn.commit()
            self.conn.autocommit = True
            try:
                if self.guard:
                    cur.execute(self._prep.split("; ", 1)[1])
                return self._run(cur, sql), True
            finally:
                if not self.conn.closed:
                    self.conn.autocommit = False
        except (_Lost, SourceError):
            raise
        except Exception as exc:
            if self.conn.closed:
                raise _Lost(f"the session was lost: {first_line(exc)}") from None
            raise

    def _as_owner(self, cur: Any, sql: str, error: str) -> str | None:
        """A policy or DROP TRIGGER statement on a platform table, again under the owning
        service role (a constant of ours, never the migration's text); None if it ran."""
        owner = granted_owner(sql)
        if owner is None:
            return error
        cur.execute("ROLLBACK TO SAVEPOINT readiness_stmt")
        cur.execute(f"SET LOCAL ROLE {owner}")
        retried = self._run(cur, sql)
        if retried is None:
            cur.execute("RESET ROLE")
        return retried

    def _privileged(self, cur: Any, sql: str, error: str) -> str | None:
        """A CREATE EXTENSION supautils runs for `postgres` on Supabase, through the
        platform layer's whitelisting SECURITY DEFINER function; None if it ran."""
        ext = privileged_extension(sql)
        if ext is None:
            return error
        cur.execute("ROLLBACK TO SAVEPOINT readiness_stmt")
        return self._run(cur, PRIVILEGED_SQL, ext)

    def _run(self, cur: Any, sql: str, params: tuple | None = None) -> str | None:
        guard = self.guard
        with guard.watch(self.conn.get_backend_pid()) if guard else nullcontext():
            try:
                cur.execute(sql, params)
                return None
            except Exception as exc:  # psycopg2.Error; any failure is a finding, not a crash
                error = first_line(exc)
        if guard is None:
            return error
        guard.raise_if_stopped()
        timed_out = guard.reason == "timeout" or "statement timeout" in error
        if timed_out:
            how = "terminated (it ignored the cancel)" if self.conn.closed else "cancelled"
            error = f"statement timeout: {how} after {guard.limit_s:g}s ({TIMEOUT_HINT}): {error}"
        if self.conn.closed:
            raise _Lost(error if timed_out else f"the session was lost: {error}")
        return error


def apply_sql(conn: Any, label: str, sql: str) -> list[dict]:
    """Run a SQL script statement by statement on `conn`, each in its own savepoint."""
    return Replay(conn).script(label, sql)


def apply_migrations(conn: Any, files: list[Path], base: Path) -> list[dict]:
    """The compatibility layer, then each migration file in filename order, on one trusted
    connection (the demo platform's own database; the schema source uses `replay_files`)."""
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = '60s'")
        cur.execute(COMPAT_SQL.read_text())
    conn.commit()
    start = "RESET ALL; SET statement_timeout = '60s'; SET search_path = public, extensions"
    return replay_files(Replay(conn, file_start=start), files, base)


def replay_files(replay: Replay, files: list[Path], base: Path) -> list[dict]:
    """Each file in order, in its own transaction, with its history row (the version is
    the CLI's: the digits before the first underscore of the file name)."""
    rows: list[dict] = []
    for path in files:
        label = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
        codec = sniff_file(path)  # a binary file is applied as 8-bit text: it fails, named
        match = MIGRATION_FILE.match(path.name)
        text = read_text(path, codec if is_text(codec) else "cp1252")
        rows += replay.script(label, text, match.group(1) if match else None)
    return rows
