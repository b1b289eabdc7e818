""" "The first caller becomes admin" (issue 16): a SQL function that grants the admin role
when no admin exists yet — `IF NOT EXISTS (SELECT 1 FROM user_roles WHERE role = 'admin')
THEN INSERT INTO user_roles VALUES (auth.uid(), 'admin')`, a `count(*) = 0` test (inline
or through `SELECT count(*) INTO n`), or one `INSERT … SELECT … WHERE NOT EXISTS (…)`.
Once deployed, whoever calls it first (through /rest/v1/rpc) owns the platform, and on a
project where the admin row is ever removed, the next caller does.

`code_admin_bootstraps`: one row per such grant, with the emptiness test, the grantee
(`caller` for auth.uid(), `param:<name>` for an argument) and whether the function also
tests that the caller is already an admin (then the grant needs an admin and is none of
this rule's business). SEC-PATH-ADMIN-BOOTSTRAP joins it with who may EXECUTE the
function. A migration seeding a fixed admin is not recorded here. Rules only record.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast
from pglast.enums import BoolExprType, SubLinkType

from ..sql.facts import const_value, func_name, walk
from .sql_bodies import Piece, pieces

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_admin_bootstraps": {
        "path": S,
        "line": N,  # the grant
        "function": S,  # schema.name
        "test_line": N,
        "test": S,  # not exists | count = 0
        "table": S,  # where the admin role is written
        "grantee": S,  # caller | param:<name> | other
        "caller_admin_test": B,  # the function also requires the caller to be an admin
    }
}
ADMIN = re.compile(r"^(super_?)?admin(istrator)?$|^owner$", re.I)
ADMIN_FLAG = re.compile(r"^is_(super_?)?admin$", re.I)
CALLER_FUNCS = frozenset({("auth", "uid"), ("auth", "jwt"), ("auth", "email")})
ADMIN_FUNC = re.compile(r"is_admin|has_role|is_super|check_admin|require_admin", re.I)


def _consts(node: Any) -> list[str]:
    return [str(v) for v in (const_value(n) for n in walk(node) if isinstance(n, ast.A_Const)) if v]


def _names_admin(node: Any) -> bool:
    """The expression names the admin role (`role = 'admin'`, `is_admin`)."""
    cols = [
        str(getattr(n.fields[-1], "sval", ""))
        for n in walk(node)
        if isinstance(n, ast.ColumnRef) and n.fields
    ]
    return any(ADMIN.match(c) for c in _consts(node)) or any(ADMIN_FLAG.match(c) for c in cols)


def _is_const(node: Any) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const)


def _about_anyone(select: Any) -> bool:
    """A subquery over admins in general: every comparison in its WHERE has a constant
    side (`role = 'admin'`), none names a user (`user_id = auth.uid()`, `= p_user`)."""
    if not isinstance(select, ast.SelectStmt) or not select.fromClause:
        return False
    where = select.whereClause
    if where is None or not _names_admin(where):
        return False
    if any(func_name(n) in CALLER_FUNCS for n in walk(where)):
        return False
    for expr in walk(where):
        compares = isinstance(expr, ast.A_Expr) and expr.lexpr is not None
        if (
            compares
            and expr.rexpr is not None
            and not isinstance(expr.rexpr, (list, tuple))  # `role in ('admin', 'owner')`
            and not (_is_const(expr.lexpr) or _is_const(expr.rexpr))
        ):
            return False
    return True


def _is_zero(node: Any) -> bool:
    return const_value(node) == "0"


def emptiness(node: Any, counters: set[str]) -> str | None:
    """'not exists' / 'count = 0' when the condition holds only while no admin exists."""
    for expr in walk(node):
        if isinstance(expr, ast.BoolExpr) and expr.boolop == BoolExprType.NOT_EXPR:
            for arg in expr.args:
                if (
                    isinstance(arg, ast.SubLink)
                    and arg.subLinkType == SubLinkType.EXISTS_SUBLINK
                    and _about_anyone(arg.subselect)
                ):
                    return "not exists"
        if isinstance(expr, ast.A_Expr) and expr.name:
            op = getattr(expr.name[-1], "sval", "")
            for side, other in ((expr.lexpr, expr.rexpr), (expr.rexpr, expr.lexpr)):
                zero = (op in {"=", "<="} and _is_zero(other)) or (
                    op == "<" and const_value(other) == "1" and side is expr.lexpr
                )
                if not zero:
                    continue
                if isinstance(side, ast.SubLink) and _about_anyone(side.subselect):
                    return "count = 0"
                if (
                    isinstance(side, ast.ColumnRef)
                    and side.fields
                    and str(getattr(side.fields[-1], "sval", "")) in counters
                ):
                    return "count = 0"
    return None


def _grant(stmt: Any) -> tuple[str, str] | None:
    """(table, grantee) of an INSERT or UPDATE that gives the admin role."""
    if isinstance(stmt, ast.InsertStmt):
        select = stmt.selectStmt
        values = list((getattr(select, "valuesLists", None) or [()])[0])
        if not values and select is not None and select.targetList:
            values = [t.val for t in select.targetList]
        if not any(_names_admin(v) or str(const_value(v)).lower() in {"true", "t"} for v in values):
            return None
        cols = [c.name for c in stmt.cols or ()]
        flags = [c for c in cols if ADMIN_FLAG.match(c)]
        if (
            not any(const_value(v) and ADMIN.match(str(const_value(v))) for v in values)
            and not flags
        ):
            return None
        return stmt.relation.relname, _grantee(values)
    if isinstance(stmt, ast.UpdateStmt):
        for target in stmt.targetList or ():
            value = str(const_value(target.val) or "").lower()
            role_set = target.name and re.search(r"role", target.name) and ADMIN.match(value)
            flag_set = target.name and ADMIN_FLAG.match(target.name) and value in {"true", "t"}
            meta = target.name and "meta" in target.name and _names_admin(target.val)
            if role_set or flag_set or meta:
                return stmt.relation.relname, _grantee([stmt.whereClause])
    return None


def _grantee(values: list[Any]) -> str:
    for value in values:
        if any(func_name(n) in CALLER_FUNCS for n in walk(value)):
            return "caller"
    for value in values:
        for ref in walk(value):
            if isinstance(ref, ast.ColumnRef) and ref.fields:
                name = str(getattr(ref.fields[-1], "sval", ""))
                if re.match(r"^_?(p_|in_|target_)?(user|uid|profile|account|member)", name):
                    return f"param:{name}"
    return "other"


def _caller_admin_test(piece: Piece) -> bool:
    """A condition that asks whether the caller is an admin (`is_admin(auth.uid())`,
    `exists (… where user_id = auth.uid() and role = 'admin')`)."""
    calls = [func_name(n) for n in walk(piece.node) if func_name(n)]
    if any(ADMIN_FUNC.search(".".join(c)) for c in calls):
        return True
    return any(c in CALLER_FUNCS for c in calls) and _names_admin(piece.node)


def _counters(fn_pieces: list[Piece]) -> set[str]:
    """Variables a `SELECT count(*) INTO n FROM <roles> WHERE role = 'admin'` fills."""
    return {
        name
        for p in fn_pieces
        if isinstance(p.node, ast.SelectStmt)
        and any(func_name(n) == ("count",) for n in walk(p.node.targetList))
        and _about_anyone(p.node)
        for name in p.into
    }


def admin_bootstraps(path: str, sql: str) -> list[dict]:
    """Admin grants guarded by "no admin yet" in the functions of one migration."""
    by_fn: dict[str, list[Piece]] = {}
    for piece in pieces(path, sql):
        if piece.function:
            by_fn.setdefault(piece.function, []).append(piece)
    rows = []
    for fn, found in by_fn.items():
        counters = _counters(found)
        for piece in found:
            if piece.condition:
                test = emptiness(piece.node, counters)
                grants = [(p, _grant(p.node)) for p in piece.branch]
            else:
                grant = _grant(piece.node)
                select = getattr(piece.node, "selectStmt", None)
                test = emptiness(getattr(select, "whereClause", None), counters) if grant else None
                grants = [(piece, grant)]
            if test is None:
                continue
            others = [p for p in found if p.condition and p is not piece]
            guarded = any(_caller_admin_test(p) for p in others)
            for where, grant in grants:
                if grant is None:
                    continue
                rows.append(
                    {
                        "path": path,
                        "line": where.line,
                        "function": fn,
                        "test_line": piece.line,
                        "test": test,
                        "table": grant[0],
                        "grantee": grant[1],
                        "caller_admin_test": guarded,
                    }
                )
    return rows
