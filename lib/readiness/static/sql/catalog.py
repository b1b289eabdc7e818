"""The catalog side of the schema source: table column specs, the catalog queries and
the facts derived from their rows (allowed values, FK indexes, policy facts).

Split from the schema source so the same read-only queries serve both collection modes
(scratch database from migrations, or the live database) without the mode logic in the
way; the source (`readiness.sources.schema`) documents the tables and re-exports
`COLUMNS`, `frame`, `read_catalog`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from readiness.sources.base import SourceResult
from readiness.static.sql.facts import check_allowed_values, policy_facts
from readiness.static.sql.functions import body_writes, read_functions
from readiness.static.sql.policy import NONE, Caller, Evaluator
from readiness.static.sql.rls import command_level, rls_reads, rls_writes

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
    "_readiness",
)
Query = Callable[[str], pd.DataFrame]
S, N, B = "string", "Int64", "boolean"
# who may write (schema_rls_writes) or read (schema_rls_reads) what, per role and column
RLS_ACCESS = {
    "schema": S,
    "table": S,
    "role": S,
    "command": S,
    "column": S,
    "allowed": B,
    "scope": S,
    "policy": S,
    "how": S,
    "trusted": B,
}

COLUMNS: dict[str, dict[str, str]] = {
    "schema_info": {
        "mode": S,
        "location": S,
        "server_version": S,
        "migration_files": N,
        "files_skipped": N,
        "statements": N,
        "statements_failed": N,
        "compat_failures": N,
        "first_failure": S,
        "catalog_files": N,
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
        "platform": S,
        "cascade": B,
        "caused": B,
    },
    "schema_migration_files": {
        "file": S,
        "version": S,
        "status": S,
        "duplicate_of": S,
        "note": S,
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
        "body": S,
        "returns": S,
        "anon_execute": B,
        "authenticated_execute": B,
        "checks_caller": B,
        "writes": B,
    },
    "schema_enums": {"schema": S, "name": S, "values": S},
    "schema_grants": {"schema": S, "table": S, "column": S, "grantee": S, "privilege": S},
    "schema_rls_writes": RLS_ACCESS,
    "schema_rls_reads": RLS_ACCESS,
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
  array_to_string(p.proconfig, ';') AS config, l.lanname AS language,
  p.prosrc AS body, pg_get_function_result(p.oid) AS returns,
  CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
    THEN has_function_privilege('anon', p.oid, 'EXECUTE') END AS anon_execute,
  CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')
    THEN has_function_privilege('authenticated', p.oid, 'EXECUTE') END
    AS authenticated_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p') AND {_SCHEMAS}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2, 3""",
    "schema_enums": f"""
SELECT n.nspname AS schema, t.typname AS name,
  json_agg(e.enumlabel ORDER BY e.enumsortorder)::text AS values
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_SCHEMAS} GROUP BY 1, 2 ORDER BY 1, 2""",
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
    fn_rows = raw["schema_functions"]
    functions = read_functions(fn_rows.to_dict("records"))
    fn_rows["checks_caller"] = [
        bool(functions.get(str(n)) and functions.get(str(n)).needs_user) for n in fn_rows["name"]
    ]
    fn_rows["writes"] = [body_writes(b) for b in fn_rows["body"]]
    pol = raw["schema_policies"]
    facts = [
        (policy_facts(u), policy_facts(c))
        for u, c in zip(pol["using_expr"], pol["check_expr"], strict=True)
    ]
    anon = Evaluator(Caller.ANON, functions)
    pol["uses_auth"] = [u.uses_auth or c.uses_auth for u, c in facts]
    pol["admits_no_user"] = [_admits(r, anon) for r in pol.to_dict("records")]
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
            functions,
            list(result.tables["schema_functions"]["body"]),
        ),
    )
    result.tables["schema_rls_reads"] = frame(
        "schema_rls_reads",
        rls_reads(
            result.tables["schema_tables"],
            result.tables["schema_columns"],
            result.tables["schema_policies"],
            result.tables["schema_grants"],
            functions,
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


def _admits(row: dict, anon: Evaluator) -> bool:
    """Can the policy let a caller with no user through for its command?"""
    cmd = row["command"]
    cmds = ["INSERT", "UPDATE", "DELETE", "SELECT"] if cmd == "ALL" else [cmd]
    return any(command_level(anon, row, c) > NONE for c in cmds)
