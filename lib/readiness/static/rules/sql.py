"""Migration facts from the checkout's SQL files, parsed with pglast (the Postgres parser).

Per statement of every `supabase/migrations/*.sql` file: tables, columns, CHECK
constraints (with their allowed values), indexes, foreign keys, RLS switches, policies,
functions and extensions (`code_sql_objects`), and the rows INSERTed (seed data such as
plans with their Stripe price ids, `code_migration_inserts`). Every fact has `path:line`.
"""

from __future__ import annotations

import json
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType
from pglast.parser import ParseError, scan

from ..sql.facts import allowed_values, const_value, split_statements

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_sql_objects": {
        "path": S,
        "line": N,
        "statement_no": N,
        "kind": S,
        "schema": S,
        "table": S,
        "name": S,
        "columns": S,
        "detail": S,
    },
    "code_migration_inserts": {"path": S, "line": N, "table": S, "values": S},
}


def _rel(rv: Any) -> tuple[str, str | None]:
    return (getattr(rv, "schemaname", None) or "public", getattr(rv, "relname", None))


def _names(items: Any) -> str:
    out = []
    for item in items or ():
        if isinstance(item, ast.IndexElem):
            out.append(item.name or "(expr)")
        else:
            out.append(getattr(item, "sval", None) or str(item))
    return ",".join(out)


def type_name(tn: Any) -> str:
    names = [getattr(n, "sval", "") for n in (tn.names or ())]
    return ".".join(n for n in names if n != "pg_catalog")


def _deparse(node: Any) -> str | None:
    from pglast.stream import RawStream

    try:
        return RawStream()(node)
    except Exception:  # deparsing is best effort: the fact stays without its text
        return None


def _constraint_rows(con: ast.Constraint, base: dict, column: str | None) -> list[dict]:
    kind = {
        ConstrType.CONSTR_CHECK: "check",
        ConstrType.CONSTR_UNIQUE: "unique",
        ConstrType.CONSTR_PRIMARY: "primary_key",
        ConstrType.CONSTR_FOREIGN: "foreign_key",
    }.get(con.contype)
    if kind is None:
        return []
    cols = column or _names(con.keys or con.fk_attrs)
    detail: Any = None
    if kind == "check":
        values = allowed_values(con.raw_expr)
        detail = json.dumps(values) if values else _deparse(con.raw_expr)
        if values and not cols:
            cols = ",".join(values)
    elif kind == "foreign_key":
        schema, table = _rel(con.pktable)
        detail = f"{schema}.{table}({_names(con.pk_attrs)})"
    return [{**base, "kind": kind, "name": con.conname, "columns": cols, "detail": detail}]


def _create_table(stmt: ast.CreateStmt, base: dict) -> list[dict]:
    rows = [{**base, "kind": "table"}]
    for elt in stmt.tableElts or ():
        if isinstance(elt, ast.ColumnDef):
            rows.append(
                {
                    **base,
                    "kind": "column",
                    "columns": elt.colname,
                    "detail": type_name(elt.typeName),
                }
            )
            for con in elt.constraints or ():
                rows += _constraint_rows(con, base, elt.colname)
        elif isinstance(elt, ast.Constraint):
            rows += _constraint_rows(elt, base, None)
    return rows


def _alter_table(stmt: ast.AlterTableStmt, base: dict) -> list[dict]:
    rows = []
    for cmd in stmt.cmds or ():
        sub = cmd.subtype
        if sub == AlterTableType.AT_EnableRowSecurity:
            rows.append({**base, "kind": "rls_enable"})
        elif sub == AlterTableType.AT_DisableRowSecurity:
            rows.append({**base, "kind": "rls_disable"})
        elif sub == AlterTableType.AT_ForceRowSecurity:
            rows.append({**base, "kind": "rls_force"})
        elif sub == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            rows += _constraint_rows(cmd.def_, base, None)
        elif sub == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            col = cmd.def_
            rows.append(
                {
                    **base,
                    "kind": "column",
                    "columns": col.colname,
                    "detail": type_name(col.typeName),
                }
            )
            for con in col.constraints or ():
                rows += _constraint_rows(con, base, col.colname)
    return rows


def _function(stmt: ast.CreateFunctionStmt, base: dict) -> dict:
    opts = {o.defname: o.arg for o in stmt.options or ()}
    definer = bool(getattr(opts.get("security"), "boolval", False))
    search_path = (
        any(getattr(o, "name", None) == "search_path" for o in (opts.get("set") or ()))
        or "set" in opts
        and "search_path" in str(opts.get("set"))
    )
    lang = getattr(opts.get("language"), "sval", None)
    name = ".".join(getattr(n, "sval", "") for n in stmt.funcname)
    detail = json.dumps(
        {"security_definer": definer, "search_path_set": search_path, "language": lang}
    )
    return {**base, "kind": "function", "name": name, "detail": detail}


def values_row_offsets(sql: str) -> list[int]:
    """Byte offsets of each `( ... )` row after VALUES (pglast keeps no node locations)."""
    offsets, depth, seen_values = [], 0, False
    try:
        tokens = scan(sql)
    except ParseError:
        return []
    for tok in tokens:
        if tok.name == "VALUES" and depth == 0:
            seen_values = True
        elif tok.name == "ASCII_40":
            if seen_values and depth == 0:
                offsets.append(tok.start)
            depth += 1
        elif tok.name == "ASCII_41":
            depth -= 1
    return offsets


def _inserts(stmt: ast.InsertStmt, sql: str, base: dict) -> list[dict]:
    schema, table = _rel(stmt.relation)
    cols = [c.name for c in stmt.cols or ()]
    data = sql.encode("utf-8")
    offsets = values_row_offsets(sql)
    rows = []
    for i, values in enumerate(getattr(stmt.selectStmt, "valuesLists", None) or ()):
        record = {c: const_value(v) for c, v in zip(cols, values, strict=False)}
        extra = data[: offsets[i]].count(b"\n") if i < len(offsets) else 0
        rows.append(
            {
                "path": base["path"],
                "line": base["line"] + extra,
                "table": f"{schema}.{table}",
                "values": json.dumps(record),
            }
        )
    return rows


def migration_facts(path: str, sql: str) -> dict[str, list[dict]]:
    """Rows for code_sql_objects and code_migration_inserts of one migration file."""
    objects: list[dict] = []
    inserts: list[dict] = []
    for st in split_statements(sql):
        base = {"path": path, "line": st.line, "statement_no": st.index}
        try:
            parsed = parse_sql(st.sql)
        except ParseError as exc:
            objects.append({**base, "kind": "parse_error", "detail": str(exc)})
            continue
        for raw in parsed:
            stmt = raw.stmt
            if isinstance(stmt, ast.CreateStmt):
                objects += _create_table(stmt, {**base, **_table_base(stmt.relation)})
            elif isinstance(stmt, ast.AlterTableStmt):
                objects += _alter_table(stmt, {**base, **_table_base(stmt.relation)})
            elif isinstance(stmt, ast.IndexStmt):
                pred = _deparse(stmt.whereClause) if stmt.whereClause is not None else None
                objects.append(
                    {
                        **base,
                        **_table_base(stmt.relation),
                        "kind": "unique_index" if stmt.unique else "index",
                        "name": stmt.idxname,
                        "columns": _names(stmt.indexParams),
                        "detail": pred,
                    }
                )
            elif isinstance(stmt, ast.CreatePolicyStmt):
                roles = ",".join(getattr(r, "rolename", None) or "public" for r in stmt.roles or ())
                objects.append(
                    {
                        **base,
                        **_table_base(stmt.table),
                        "kind": "policy",
                        "name": stmt.policy_name,
                        "columns": roles or "public",
                        "detail": (stmt.cmd_name or "all").upper(),
                    }
                )
            elif isinstance(stmt, ast.CreateFunctionStmt):
                objects.append(_function(stmt, base))
            elif isinstance(stmt, ast.CreateExtensionStmt):
                objects.append({**base, "kind": "extension", "name": stmt.extname})
            elif isinstance(stmt, ast.InsertStmt):
                inserts += _inserts(stmt, st.sql, base)
    return {"code_sql_objects": objects, "code_migration_inserts": inserts}


def _table_base(rv: Any) -> dict:
    schema, table = _rel(rv)
    return {"schema": schema, "table": table}
