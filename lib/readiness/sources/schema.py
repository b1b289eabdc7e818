"""The database schema as the catalog sees it: from the live database (read-only), or from
the checkout's migrations applied to a scratch embedded Postgres.

Schema checks must run with no access to production, so in `migrations` mode the repo's
migrations are replayed as `supabase db reset` replays them (the CLI's file selection and
order, a transaction per file) on a throw-away PostgreSQL with a Supabase platform layer
(roles, auth, storage, realtime, the publication, default privileges). Every statement
runs in its own savepoint: a broken one is recorded (file, statement, line, error) and the
rest still applies best-effort, the failures after the first marked as its cascade.
`live` mode runs the same catalog queries over the audit DSN in a read-only session; it
never writes. `auto` picks migrations when the folder exists, else live.

The migrations are the audited checkout's, so they are hostile input: they run as
`postgres`, a non-superuser as on hosted Supabase (no COPY ... PROGRAM, no server files,
no untrusted languages, no ALTER SYSTEM), on a server with a minimal environment, each
statement bounded by `statement_timeout_s` and the whole source by `max_seconds`.

This module is the source's thin adapter: it picks the mode and reads the live catalog;
the static-analysis engine's `readiness.static.sql` does the rest — the scratch replay's
setup (`migrations.py`), the scratch server's lifecycle (`scratch.py`), the bounded
statement replay (`replay.py`), the catalog queries and column specs (`catalog.py`) and
the write-access analysis, grants x RLS x policies (`rls.py`), so each reads on its own.

Tables (schema/table names are the Postgres ones; lists are comma-joined strings):
- schema_info: mode, location, server_version, migration_files, files_skipped, statements,
  statements_failed, compat_failures, first_failure (file:line), catalog_files (files
  behind the catalog tables: the CLI's, plus skipped files named like migrations, e.g.
  `<version>-<uuid>.sql`, which the platform applied some other way), seconds
- schema_migrations: file, statement_no, line, kind, ok, compat, error, statement,
  platform, cascade, caused (compat = failed only because the scratch database lacks
  something hosted Supabase has, `platform` says what; cascade = failed after the first
  real failure, where `supabase db reset` had already stopped: evidence of that one;
  caused = its error names what an earlier failed statement should have created)
- schema_migration_files: file, version, status (applied, failed, not_applied after the
  first failure, skipped: the CLI never applies it), duplicate_of (an earlier file with
  the same version), note (a version that sorts where its author may not expect)
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
- schema_functions: schema, name, args, security_definer, search_path_set, config, language,
  body (prosrc), returns, anon_execute, authenticated_execute (EXECUTE, PUBLIC's included),
  checks_caller (the body reads auth.uid()/the JWT, or calls a function that does), writes
- schema_enums: schema, name, values (JSON list of the labels, in order)
- schema_grants: schema, table, column (NA = whole table), grantee, privilege — for anon,
  authenticated and PUBLIC
- schema_rls_writes: schema, table, role, command, column, allowed, scope, policy, how,
  trusted — what an anonymous caller or a signed-in customer can write (static: grants ×
  RLS × policy expressions parsed with pglast and judged per caller, `policy.py`; the same
  analysis in both modes); trusted = a role-like column an authorization test reads
- schema_rls_reads: the same columns for SELECT (what anon and a customer can read)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from readiness.config import AuditConfig, Secrets
from readiness.sources.base import CANCEL, Cancelled, SourceError, SourceResult
from readiness.static.sql.catalog import COLUMNS, frame, read_catalog
from readiness.static.sql.migrations import collect_migrations, migration_files
from readiness.static.sql.replay import apply_migrations, apply_sql, first_line
from readiness.static.sql.scratch import scratch_postgres

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
    start = time.monotonic()
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
        if CANCEL.is_set():
            raise Cancelled("schema: stopped (the run was interrupted)") from None
        if time.monotonic() - start >= db.max_seconds:  # the watchdog cut a stalled link
            raise SourceError(
                f"schema: gave up after {db.max_seconds:g}s reading the live catalog — the "
                "server stopped answering (time budget sources.database.max_seconds)"
            ) from None
        raise SourceError(f"schema: {first_line(exc.orig or exc)}") from None
    finally:
        engine.dispose()
    result.tables["schema_migrations"] = frame("schema_migrations", [])
    result.tables["schema_migration_files"] = frame("schema_migration_files", [])
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
        s = config.sources.schema_
        result = collect_migrations(folder, base, s, start + s.max_seconds, say)
    else:
        result = _collect_live(config, secrets)
    info = result.tables["schema_info"]
    info["seconds"] = round(time.monotonic() - start, 3)
    say(f"schema: {mode} catalog read in {time.monotonic() - start:.1f}s")
    return result
