"""The schema from a checkout's migrations: replayed on a scratch PostgreSQL, then read
from its catalog, with no access to any audited database.

The migrations are the audited checkout's, so they are hostile input: they run as
`postgres`, a non-superuser as on hosted Supabase (no COPY ... PROGRAM, no server files,
no untrusted languages, no ALTER SYSTEM), on a server with a minimal environment, each
statement bounded by `statement_timeout_s` and the whole replay by `max_seconds`. This
module sets the replay up; the server's lifecycle is `scratch.py`, the bounded statement
replay `replay.py` and the catalog queries `catalog.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from readiness.config import SchemaSource
from readiness.sources.base import SourceError, SourceResult
from readiness.static.sql.catalog import frame, read_catalog
from readiness.static.sql.cli import file_rows, mark_cascades, select_files
from readiness.static.sql.replay import COMPAT_SQL, Guard, Replay, first_line, replay_files
from readiness.static.sql.scratch import SUPERUSER, ScratchServer, scratch_postgres

MIGRATOR = "postgres"  # as on hosted Supabase: the migrations' role, not a superuser
# a skipped name that still starts with a version: `20250729014430-<uuid>.sql`, `001-init.sql`
MEANT_AS_MIGRATION = re.compile(r"^[0-9]+[-.][^/]*\.sql$")


def migration_files(folder: Path) -> list[Path]:
    """The files `supabase db reset` applies, in its order (see `cli.py`)."""
    return select_files(folder)[0]


def _prepare(admin: Any, limit_s: float) -> None:
    """As the superuser: the compatibility layer and the migration role's defaults."""
    with admin.cursor() as cur:
        cur.execute(COMPAT_SQL.read_text())
        # the server-side half of the limit; the Guard enforces it if a migration lifts it
        cur.execute(f"ALTER ROLE {MIGRATOR} SET statement_timeout = {int(limit_s * 1000)}")
    admin.commit()
    admin.autocommit = True


def _read_scratch_catalog(conn: Any, guard: Guard) -> SourceResult:
    """The catalog as the migration role, on a session reset to a plain search_path."""
    cur = conn.cursor()

    def run(sql: str) -> None:
        guard.check()
        with guard.watch(conn.get_backend_pid()):
            try:
                cur.execute(sql)
                error = None
            except Exception as exc:  # psycopg2.Error
                error = exc
        guard.raise_if_stopped()
        if error is not None:
            raise SourceError(f"schema: reading the scratch catalog failed: {first_line(error)}")

    def query(sql: str) -> pd.DataFrame:
        run(sql)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    conn.rollback()
    conn.autocommit = True
    run("RESET ALL")  # whatever the migrations SET for the session
    run("RESET ROLE")
    run("SET search_path = pg_catalog")
    return read_catalog(query)


def _replay(
    server: ScratchServer, files: list[Path], base: Path, s: SchemaSource, deadline: float
) -> tuple[list[dict], SourceResult]:
    import psycopg2

    limit_ms = str(int(s.statement_timeout_s * 1000))
    admin = psycopg2.connect(**server.connect_args(SUPERUSER, statement_timeout="10000"))
    try:
        _prepare(admin, s.statement_timeout_s)
        with Guard(admin, s.statement_timeout_s, s.max_seconds, deadline) as guard:
            guard.check()
            replay = Replay(
                connect=lambda: psycopg2.connect(
                    **server.connect_args(
                        MIGRATOR, statement_timeout=limit_ms, search_path="public,extensions"
                    )
                ),
                guard=guard,
            )
            try:
                applied = replay_files(replay, files, base)
                return applied, _read_scratch_catalog(replay.conn, guard)
            finally:
                replay.conn.close()
    finally:
        admin.close()


def _catalog_with(
    meant: list[Path],
    files: list[Path],
    base: Path,
    s: SchemaSource,
    deadline: float,
    cli: SourceResult,
    progress: Callable[[str], None],
) -> SourceResult:
    """The catalog the schema checks read, from a second replay that also applies the
    files the CLI skips but whose names show they were meant as migrations (a version and
    a hyphen: the platform applied them some other way, e.g. Lovable or the dashboard).
    The CLI replay's catalog stays if that replay cannot finish."""
    import psycopg2

    ordered = sorted(files + meant, key=lambda p: p.name)
    try:
        with scratch_postgres() as server:
            _, result = _replay(server, ordered, base, s, deadline)
    except (SourceError, psycopg2.Error) as exc:
        cli.notes.append(f"schema: the catalog with the skipped files failed: {first_line(exc)}")
        return cli
    progress(f"schema: catalog read with {len(meant)} file(s) the CLI skips")
    result.notes = cli.notes[:1] + result.notes[1:]
    return result


def collect_migrations(
    folder: Path, base: Path, s: SchemaSource, deadline: float, progress: Callable[[str], None]
) -> SourceResult:
    import psycopg2

    files, skipped = select_files(folder)
    if not files and not skipped:
        raise SourceError(f"schema: no .sql files in the migrations folder {folder}")
    with scratch_postgres() as server:
        try:
            applied, result = _replay(server, files, base, s, deadline)
        except psycopg2.Error as exc:
            raise SourceError(f"schema: scratch database: {first_line(exc)}") from None
    progress(
        f"schema: applied {sum(r['ok'] for r in applied)}/{len(applied)} statements "
        f"of {len(files)} migration file(s)"
    )
    meant = [p for p in skipped if MEANT_AS_MIGRATION.match(p.name)]
    catalog_files = len(files)
    if meant:
        result = _catalog_with(meant, files, base, s, deadline, result, progress)
        catalog_files += len(meant)
    first = mark_cascades(applied)
    failed = [r for r in applied if not r["ok"]]
    result.tables["schema_migrations"] = frame("schema_migrations", applied)
    result.tables["schema_migration_files"] = frame(
        "schema_migration_files", file_rows(files, skipped, base, first)
    )
    result.tables["schema_info"] = frame(
        "schema_info",
        [
            {
                "mode": "migrations",
                "location": str(folder),
                "server_version": result.notes.pop(0) if result.notes else None,
                "migration_files": len(files),
                "files_skipped": len(skipped),
                "statements": len(applied),
                "statements_failed": sum(1 for r in failed if not r["compat"]),
                "compat_failures": sum(1 for r in failed if r["compat"]),
                "first_failure": f"{first['file']}:{first['line']}" if first else None,
                "catalog_files": catalog_files,
            }
        ],
    )
    for r in failed:
        result.notes.append(
            f"migration {r['file']} statement {r['statement_no']} (line {r['line']}) failed: "
            f"{r['error']}"
        )
    return result
