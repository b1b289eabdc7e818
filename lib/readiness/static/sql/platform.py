"""What hosted Supabase provides that the scratch PostgreSQL cannot: telling a migration
statement that failed for lack of a platform object from one that is really broken.

The platform layer (`sandbox/supabase_compat.sql`) builds what a fresh project has, but
the embedded server ships neither PostGIS, pg_cron, pg_net nor pgcrypto, and
supautils (which lets `postgres` manage policies and drop triggers on the auth, storage
and realtime tables it does not own) is not loaded. A statement whose error names such an
object cannot be verified here, so it is `compat` (not_verified), never a failure, and so
is every later statement that fails on an object such a statement should have created
(the table with a `geography` column, then its indexes and policies). PostgreSQL 18's
auto-named NOT NULL constraints, which Supabase's 15/17 do not have, are the same.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql
from pglast.enums import AlterTableType, ObjectType
from pglast.parser import ParseError

# the tables supautils lets `postgres` put policies on and drop triggers from, by schema
PLATFORM_OWNERS = {
    "auth": "supabase_auth_admin",
    "storage": "supabase_storage_admin",
    "realtime": "supabase_realtime_admin",
}
# extensions Supabase offers that the embedded server does not ship, by the schema, type
# and function names their objects have
EXTENSION_SCHEMAS = frozenset(
    {"cron", "net", "pgsodium", "graphql", "supabase_functions", "pgmq", "pgtle", "topology",
     "tiger", "tiger_data", "pgbouncer", "http", "pgjwt", "pg_net", "wrappers"}
)  # fmt: skip
EXTENSION_TYPES = frozenset(
    {"geography", "geometry", "box2d", "box3d", "raster", "halfvec_ops", "pgmq_message"}
)
EXTENSION_FUNCS = re.compile(
    r"^(st_\w+|postgis_\w+|_st_\w+|http(_\w+)?|sign|verify|url_encode|url_decode|"
    r"pgp_\w+|armor|dearmor|gen_random_bytes|crypt|gen_salt|digest|hmac|encrypt|decrypt|"
    r"uuid_generate_v[1-5]\w*|uuid_ns_\w+|hypopg\w*|index_advisor|schedule|unschedule|"
    r"net_\w+|crypto_\w+|jsonb_matches_schema|json_matches_schema)$"
)
SUPABASE_EXTENSIONS = frozenset(
    {"pg_cron", "pg_net", "postgis", "postgis_topology", "postgis_tiger_geocoder", "pgcrypto",
     "uuid-ossp", "pgjwt", "http", "pg_graphql", "supabase_vault", "pgsodium", "pgmq",
     "pg_jsonschema", "wrappers", "plv8", "pg_hashids", "rum", "pgaudit", "pgroonga",
     "index_advisor", "hypopg", "pg_repack", "pgtap", "plpgsql_check", "pgrouting",
     "timescaledb", "pg_stat_monitor", "address_standardizer", "pgsql-http", "pg_tle",
     "supabase-dbdev", "orioledb"}
)  # fmt: skip
# what supautils lets `postgres` create although the extension is not trusted, as far as
# the embedded server ships it (never file_fdw, dblink, postgres_fdw or the inspectors)
PRIVILEGED_EXTENSIONS = (
    "vector", "moddatetime", "pg_trgm", "citext", "hstore", "btree_gin", "btree_gist",
    "cube", "earthdistance", "fuzzystrmatch", "intarray", "isn", "ltree", "seg", "tablefunc",
    "tcn", "unaccent", "insert_username", "autoinc", "refint", "dict_int", "dict_xsyn",
    "bloom", "tsm_system_rows", "tsm_system_time", "lo", "pg_stat_statements",
)  # fmt: skip
EXTENSION_ERRORS = (
    "is not available",
    "could not open extension control file",
    "permission denied to create extension",
)
_NAMED = re.compile(
    r'\b(schema|type|function|relation|table|view|column|index|sequence|extension)\s+"?'
    r'([\w.]+?)"?(?:\(|\s|$)'
)
_NOT_NULL_NAME = re.compile(r'constraint "\w+_not_null" for relation "\w+" already exists')


def _parse(sql: str) -> ast.Node | None:
    try:
        stmts = parse_sql(sql)
    except ParseError:
        return None
    return stmts[0].stmt if len(stmts) == 1 else None


def _names(node: ast.Node, attr: str) -> list[str]:
    return [getattr(n, "sval", "") for n in getattr(node, attr) or ()]


def _block_queries(sql: str) -> list[str] | None:
    """The SQL statements of a DO block's body; None with dynamic SQL, PERFORM, or when it
    does not parse."""
    try:
        tree = parse_plpgsql(sql)
    except (ParseError, Exception):  # pglast raises its own errors for PL/pgSQL
        return None
    found: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "PLpgSQL_stmt_dynexecute" in node or "PLpgSQL_stmt_perform" in node:
                return None
            execsql = node.get("PLpgSQL_stmt_execsql")
            if execsql is not None:
                found.append(execsql["sqlstmt"]["PLpgSQL_expr"]["query"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def granted_owner(sql: str) -> str | None:
    """The service role owning the platform table when the statement is a policy
    statement or a DROP TRIGGER on it (what supautils grants `postgres` on Supabase), or
    a DO block made only of such statements on one schema's tables."""
    stmt = _parse(sql)
    if isinstance(stmt, ast.DoStmt):
        queries = _block_queries(sql)
        owners = {granted_owner(q) for q in queries or ()}
        return owners.pop() if len(owners) == 1 else None
    if isinstance(stmt, (ast.CreatePolicyStmt, ast.AlterPolicyStmt)):
        return PLATFORM_OWNERS.get(stmt.table.schemaname or "")
    if isinstance(stmt, ast.DropStmt) and stmt.removeType in (
        ObjectType.OBJECT_POLICY,
        ObjectType.OBJECT_TRIGGER,
    ):
        for obj in stmt.objects or ():
            names = [getattr(n, "sval", "") for n in obj]
            if len(names) == 3 and names[0] in PLATFORM_OWNERS:
                return PLATFORM_OWNERS[names[0]]
    return None


def privileged_extension(sql: str) -> tuple[str, str | None, bool] | None:
    """(name, schema, cascade) of a CREATE EXTENSION supautils would run for `postgres`."""
    stmt = _parse(sql)
    if not isinstance(stmt, ast.CreateExtensionStmt) or stmt.extname not in PRIVILEGED_EXTENSIONS:
        return None
    opts = {o.defname: o.arg for o in stmt.options or ()}
    schema = getattr(opts.get("schema"), "sval", None)
    cascade = bool(getattr(opts.get("cascade"), "boolval", False))
    return stmt.extname, schema, cascade


def created_names(sql: str) -> set[str]:
    """Bare names (lower case) of what the statement would create: tables, views, types,
    functions, indexes, added columns."""
    stmt = _parse(sql)
    out: set[str] = set()
    if isinstance(stmt, ast.CreateStmt):
        out.add(stmt.relation.relname)
    elif isinstance(stmt, ast.CreateTableAsStmt):
        out.add(stmt.into.rel.relname)
    elif isinstance(stmt, ast.ViewStmt):
        out.add(stmt.view.relname)
    elif isinstance(stmt, ast.CreateFunctionStmt):
        out.update(_names(stmt, "funcname")[-1:])
    elif isinstance(stmt, ast.CreateEnumStmt):
        out.update(_names(stmt, "typeName")[-1:])
    elif isinstance(stmt, ast.CreateDomainStmt):
        out.update(_names(stmt, "domainname")[-1:])
    elif isinstance(stmt, ast.CompositeTypeStmt):
        out.add(stmt.typevar.relname)
    elif isinstance(stmt, ast.IndexStmt) and stmt.idxname:
        out.add(stmt.idxname)
    elif isinstance(stmt, ast.AlterTableStmt):
        for cmd in stmt.cmds or ():
            if cmd.subtype == AlterTableType.AT_AddColumn and cmd.def_ is not None:
                out.add(cmd.def_.colname)
    return {n.lower() for n in out if n}


def named(error: str) -> set[str]:
    """Bare names (lower case) of the objects an error message names."""
    return {name.lower().split(".")[-1] for _, name in _NAMED.findall(error)}


def platform_reason(error: str, tainted: set[str]) -> str | None:
    """Why the error says nothing about the migrations (None: it is a real failure)."""
    if any(e in error for e in EXTENSION_ERRORS):
        return "an extension this server does not ship"
    if _NOT_NULL_NAME.search(error):
        return "PostgreSQL 18 names NOT NULL constraints (Supabase runs 15/17)"
    for what, name in _NAMED.findall(error):
        low = name.lower()
        parts = low.split(".")
        bare = parts[-1]
        if what == "schema" and bare in EXTENSION_SCHEMAS:
            return f"schema {bare} of an extension this server does not ship"
        if what == "extension" and bare in SUPABASE_EXTENSIONS:
            return f"extension {bare}, which this server does not ship"
        if len(parts) > 1 and parts[0] in EXTENSION_SCHEMAS:
            return f"{low}, of an extension this server does not ship"
        if what == "type" and bare in EXTENSION_TYPES:
            return f"type {bare} of an extension this server does not ship"
        if what == "function" and EXTENSION_FUNCS.match(bare):
            return f"function {bare} of an extension this server does not ship"
        if bare in tainted and "does not exist" in error:
            return f"{bare} was not created: its statement needed a platform object"
    return None
