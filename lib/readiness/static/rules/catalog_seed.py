"""What the migrations and the seed file write into catalogue and order tables, in the
order `supabase db reset` applies them: facts to compute the catalogue they leave.

The seed's first question is whether placeholder Stripe price ids are left. Without a
database the answer is in the SQL: every INSERT (with its ON CONFLICT), UPDATE, DELETE,
TRUNCATE and DROP touching a plan-like table (plans, prices, products, add-ons, bundles,
or any table written with a price-id column) or an order-like one. Each write is one
row of `code_catalog_writes` with the constant values it sets and the equality filters
it matches on; the checks replay them (checks/area01_seed.py). Files apply as the
Supabase CLI applies them: `supabase/migrations/<digits>_<name>.sql` in name order (other
names are skipped by the CLI), then `supabase/seed.sql`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, OnConflictAction
from pglast.parser import ParseError

from ..sql.cli import select_names
from ..sql.facts import const_value, split_statements
from .sql import type_name, values_row_offsets

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_catalog_writes": {
        "path": S,
        "line": N,
        "seq": N,  # position in the CLI's apply order (files, then statements, then rows)
        "op": S,  # create | insert | update | delete | truncate | drop | unparsed
        "table": S,  # schema.table
        "kind": S,  # catalog | orders
        "values": S,  # JSON {column: text or null} the row or SET gives (non-constants left
        # out); for create, {column: type}
        "where": S,  # JSON {column: [values]} of an equality filter; null: every row
        "where_known": B,  # False: a filter the facts cannot follow (the write is unknown)
        "conflict": S,  # ON CONFLICT: nothing | update | NA
        "conflict_set": S,  # JSON {column: text, or "excluded.<col>"} of DO UPDATE SET
        "conflict_cols": S,  # JSON list of the conflict target columns
    }
}

CATALOG_TABLE = re.compile(
    r"(?:^|_)(?:plans?|prices?|pricing|products?|add_?ons?|bundles?|packages?|tiers?|"
    r"offers?|skus?)$",
    re.IGNORECASE,
)
# a catalogue table named anywhere in a statement's text (for statements that do not parse)
CATALOG_TABLE_WORD = re.compile(
    r"\b(?:\w+_)?(?:plans?|prices?|pricing|products?|add_?ons?|bundles?|packages?|tiers?)\b",
    re.IGNORECASE,
)
ORDER_TABLE = re.compile(r"(?:^|_)(?:orders?|subscriptions?|purchases?)$", re.IGNORECASE)
# a column holding a Stripe price id (not an amount such as price or price_cents)
PRICE_ID_COLUMN = re.compile(r"stripe_?price|(?:^|_)price_?id$|(?:^|_)price_.*_id$", re.I)


def apply_order(paths: list[str]) -> list[str]:
    """The SQL files `supabase db reset` applies, in its order: the migrations of
    supabase/migrations the CLI selects (static.sql.cli), then supabase/seed.sql."""
    folder = "supabase/migrations/"
    names = [
        p[len(folder) :] for p in paths if p.startswith(folder) and "/" not in p[len(folder) :]
    ]
    applied, _ = select_names(names)
    return [folder + n for n in applied] + [p for p in paths if p == "supabase/seed.sql"]


def price_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if PRICE_ID_COLUMN.search(c)]


def _table_kind(table: str | None, columns: list[str]) -> str | None:
    if not table:
        return None
    if CATALOG_TABLE.search(table) or price_columns(columns):
        return "catalog"
    if ORDER_TABLE.search(table):
        return "orders"
    return None


def _rel(rv: Any) -> tuple[str, str | None]:
    return (getattr(rv, "schemaname", None) or "public", getattr(rv, "relname", None))


def _set_values(targets: Any) -> dict[str, Any]:
    """{column: constant text | None for NULL | "excluded.<col>"} of a SET list; other
    expressions are left out (not knowable from the text)."""
    out: dict[str, Any] = {}
    for target in targets or ():
        value = target.val
        while isinstance(value, ast.TypeCast):
            value = value.arg
        if isinstance(value, ast.A_Const):
            out[target.name] = None if value.isnull else const_value(value)
        elif isinstance(value, ast.ColumnRef):
            parts = [getattr(f, "sval", "") for f in value.fields]
            if len(parts) == 2 and parts[0].lower() == "excluded":
                out[target.name] = f"excluded.{parts[1]}"
    return out


def equality_filter(expr: Any) -> tuple[dict[str, list[str]] | None, bool]:
    """({column: values}, known) of a WHERE made of `col = const`, `col IN (...)` joined
    by AND; (None, True) for no WHERE; known=False for anything else."""
    if expr is None:
        return None, True
    terms = expr.args if isinstance(expr, ast.BoolExpr) else (expr,)
    if isinstance(expr, ast.BoolExpr) and expr.boolop != BoolExprType.AND_EXPR:
        return {}, False
    found: dict[str, list[str]] = {}
    known = True
    for term in terms:
        if not isinstance(term, ast.A_Expr) or not isinstance(term.lexpr, ast.ColumnRef):
            known = False
            continue
        column = getattr(term.lexpr.fields[-1], "sval", None)
        op = getattr(term.name[0], "sval", "") if term.name else ""
        if term.kind == A_Expr_Kind.AEXPR_OP and op == "=":
            values = [const_value(term.rexpr)]
        elif term.kind == A_Expr_Kind.AEXPR_IN and op == "=":
            values = [const_value(v) for v in term.rexpr]
        else:
            known = False
            continue
        if column is None or any(v is None for v in values):
            known = False
            continue
        found.setdefault(column, []).extend(v for v in values if v is not None)
    return found, known


def _insert_rows(stmt: ast.InsertStmt, base: dict, sql: str) -> list[dict]:
    schema, table = _rel(stmt.relation)
    columns = [c.name for c in stmt.cols or ()]
    kind = _table_kind(table, columns)
    values_lists = getattr(stmt.selectStmt, "valuesLists", None) or ()
    if kind is None or not values_lists:
        return []
    conflict = stmt.onConflictClause
    action = None
    conflict_set: dict[str, Any] = {}
    conflict_cols: list[str] = []
    if conflict is not None:
        action = "nothing" if conflict.action == OnConflictAction.ONCONFLICT_NOTHING else "update"
        conflict_set = _set_values(conflict.targetList) if action == "update" else {}
        infer = conflict.infer
        conflict_cols = [e.name for e in getattr(infer, "indexElems", None) or () if e.name]
    data = sql.encode("utf-8")
    offsets = values_row_offsets(sql)
    rows = []
    for i, values in enumerate(values_lists):
        extra = data[: offsets[i]].count(b"\n") if i < len(offsets) else 0
        record: dict[str, Any] = {}
        for column, node in zip(columns, values, strict=False):
            inner = node
            while isinstance(inner, ast.TypeCast):
                inner = inner.arg
            if isinstance(inner, ast.A_Const):
                record[column] = None if inner.isnull else const_value(inner)
        rows.append(
            {
                **base,
                "line": base["line"] + extra,
                "op": "insert",
                "table": f"{schema}.{table}",
                "kind": kind,
                "values": json.dumps(record),
                "where": None,
                "where_known": True,
                "conflict": action,
                "conflict_set": json.dumps(conflict_set) if action == "update" else None,
                "conflict_cols": json.dumps(conflict_cols),
            }
        )
    return rows


def _write(op: str, rv: Any, base: dict, columns: list[str], **extra: Any) -> list[dict]:
    schema, table = _rel(rv)
    kind = _table_kind(table, columns)
    if kind is None:
        return []
    row = {
        **base,
        "op": op,
        "table": f"{schema}.{table}",
        "kind": kind,
        "values": None,
        "where": None,
        "where_known": True,
        "conflict": None,
        "conflict_set": None,
        "conflict_cols": None,
    }
    return [row | extra]


def statement_writes(stmt: Any, base: dict, sql: str = "") -> list[dict]:
    """Catalogue/order writes of one parsed statement (`sql`: its text, for row lines);
    CREATE TABLE is kept too, so the replay knows which file made a table and its
    columns."""
    if isinstance(stmt, ast.CreateStmt):
        columns = {
            c.colname: type_name(c.typeName)
            for c in stmt.tableElts or ()
            if isinstance(c, ast.ColumnDef) and c.typeName is not None
        }
        return _write("create", stmt.relation, base, list(columns), values=json.dumps(columns))
    if isinstance(stmt, ast.InsertStmt):
        return _insert_rows(stmt, base, sql)
    if isinstance(stmt, ast.UpdateStmt):
        values = _set_values(stmt.targetList)
        where, known = equality_filter(stmt.whereClause)
        columns = [t.name for t in stmt.targetList or ()]
        return _write(
            "update",
            stmt.relation,
            base,
            columns,
            values=json.dumps(values),
            where=json.dumps(where) if where is not None else None,
            where_known=known and stmt.fromClause is None,
        )
    if isinstance(stmt, ast.DeleteStmt):
        where, known = equality_filter(stmt.whereClause)
        return _write(
            "delete",
            stmt.relation,
            base,
            [],
            where=json.dumps(where) if where is not None else None,
            where_known=known and stmt.usingClause is None,
        )
    if isinstance(stmt, ast.TruncateStmt):
        return [w for rv in stmt.relations or () for w in _write("truncate", rv, base, [])]
    if isinstance(stmt, ast.DropStmt) and getattr(stmt.removeType, "name", "") == "OBJECT_TABLE":
        out = []
        for names in stmt.objects or ():
            parts = [getattr(n, "sval", "") for n in names]
            rv = ast.RangeVar(schemaname=parts[-2] if len(parts) > 1 else None, relname=parts[-1])
            out += _write("drop", rv, base, [])
        return out
    return []


def catalog_writes(files: list[tuple[str, str]]) -> list[dict]:
    """Rows of code_catalog_writes for (path, text) files already in apply order."""
    rows: list[dict] = []
    for path, sql in files:
        for st in split_statements(sql):
            try:
                parsed = parse_sql(st.sql)
            except ParseError:
                # the replay reports the broken statement; here it only matters when it may
                # write a catalogue (what it leaves is then unknown, never "no placeholder")
                if CATALOG_TABLE_WORD.search(st.sql) or PRICE_ID_COLUMN.search(st.sql):
                    rows.append(
                        {
                            "path": path,
                            "line": st.line,
                            "seq": len(rows),
                            "op": "unparsed",
                            "table": None,
                            "kind": "catalog",
                            "where_known": False,
                        }
                    )
                continue
            for raw in parsed:
                base = {"path": path, "line": st.line}
                for row in statement_writes(raw.stmt, base, st.sql if len(parsed) == 1 else ""):
                    rows.append({**row, "seq": len(rows)})
    return rows
