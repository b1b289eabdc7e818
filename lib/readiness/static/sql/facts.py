"""Postgres SQL helpers built on pglast (the real Postgres parser), shared by the schema
source and the codebase source's migration facts.

Splitting migrations statement by statement (so one broken statement is reported and
the rest still applies), reading allowed values out of CHECK expressions, and telling
whether a row-level-security expression requires a signed-in user are asked by several
audit areas; they are answered here once, on syntax trees rather than text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql, split
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType
from pglast.parser import ParseError

AUTH_FUNCS = frozenset({("auth", "uid"), ("auth", "jwt"), ("auth", "role"), ("auth", "email")})
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL file: 1-based index, line of its first token, text."""

    index: int
    line: int
    sql: str


def split_statements(sql: str) -> list[Statement]:
    """Statements of a SQL script; falls back to the scanner when a statement is broken,
    so every other statement still gets its own index and line. pglast's slices count
    characters, so they cut the text itself (slicing its UTF-8 bytes shifted every
    statement after an accent or an em-dash in a comment)."""
    try:
        slices = list(split(sql, only_slices=True))
    except ParseError:
        slices = list(split(sql, with_parser=False, only_slices=True))
    out: list[Statement] = []
    for sl in slices:
        lead = _LEADING.match(sql, sl.start, sl.stop)
        start = lead.end() if lead else sl.start
        text = sql[start : sl.stop].strip()
        if not text:
            continue
        out.append(Statement(len(out) + 1, sql.count("\n", 0, start) + 1, text))
    return out


def walk(node: Any) -> Iterator[ast.Node]:
    """Every pglast node under `node`, depth first."""
    if isinstance(node, (tuple, list)):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from walk(getattr(node, attr))


def func_name(node: ast.Node) -> tuple[str, ...]:
    if isinstance(node, ast.FuncCall):
        return tuple(getattr(n, "sval", "") for n in node.funcname)
    return ()


def parse_expr(expr: str) -> ast.Node | None:
    """The syntax tree of a boolean SQL expression, or None when it does not parse."""
    try:
        stmt = parse_sql(f"SELECT 1 WHERE {expr}")[0].stmt
    except ParseError:
        return None
    return stmt.whereClause


def const_value(node: Any) -> str | None:
    """Text of a string/number constant, through `::type` casts."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const) and not node.isnull:
        val = node.val
        for attr in ("sval", "ival", "fval", "boolval"):
            if hasattr(val, attr):
                return str(getattr(val, attr))
    return None


def _column(node: Any) -> str | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ColumnRef):
        return getattr(node.fields[-1], "sval", None)
    return None


def allowed_values(expr: ast.Node | None) -> dict[str, list[str]]:
    """{column: values} of `col IN (...)`, `col = ANY (ARRAY[...])` and `col = 'x' OR ...`."""
    found: dict[str, list[str]] = {}
    if expr is None:
        return found
    for node in walk(expr):
        if not isinstance(node, ast.A_Expr):
            continue
        op = getattr(node.name[0], "sval", "") if node.name else ""
        col = _column(node.lexpr)
        if col is None or op != "=":
            continue
        values: list[Any] = []
        if node.kind == A_Expr_Kind.AEXPR_IN:
            values = list(node.rexpr or ())
        elif node.kind == A_Expr_Kind.AEXPR_OP_ANY:
            arr = node.rexpr
            while isinstance(arr, ast.TypeCast):
                arr = arr.arg
            values = list(getattr(arr, "elements", None) or ())
        elif node.kind == A_Expr_Kind.AEXPR_OP:
            values = [node.rexpr]
        texts = [v for v in (const_value(x) for x in values) if v is not None]
        if texts:
            found.setdefault(col, [])
            found[col] += [t for t in texts if t not in found[col]]
    return found


def check_allowed_values(definition: str) -> dict[str, list[str]]:
    """Allowed values of a `CHECK (...)` definition as pg_get_constraintdef prints it."""
    body = definition.strip()
    if body.upper().startswith("CHECK"):
        body = body[5:]
    body = re.sub(r"\s+NOT VALID\s*$", "", body, flags=re.I)
    return allowed_values(parse_expr(body))


def _is_auth_call(node: Any) -> bool:
    while isinstance(node, (ast.TypeCast,)):
        node = node.arg
    name = func_name(node) if isinstance(node, ast.FuncCall) else ()
    return name in AUTH_FUNCS or (len(name) == 1 and name[0] in {"uid", "jwt"})


def _is_true(node: Any) -> bool:
    return const_value(node) == "True" or (isinstance(node, ast.A_Const) and _bool(node))


def _bool(node: ast.A_Const) -> bool:
    return bool(getattr(node.val, "boolval", False)) and hasattr(node.val, "boolval")


def _admits_no_user(node: Any) -> bool:
    """True when the expression can be true with no signed-in user (auth.uid() NULL)."""
    if node is None or _is_true(node):
        return True
    if isinstance(node, ast.BoolExpr):
        if node.boolop == BoolExprType.OR_EXPR:
            return any(_admits_no_user(a) for a in node.args)
        if node.boolop == BoolExprType.AND_EXPR:
            return all(_admits_no_user(a) for a in node.args)
        return True  # NOT (...): give up on proving a user is required
    if isinstance(node, ast.NullTest):
        return node.nulltesttype == NullTestType.IS_NULL and _is_auth_call(node.arg)
    # comparisons, IN, EXISTS, function calls: require a user only if they involve auth.*
    return not any(_is_auth_call(n) for n in walk(node))


@dataclass(frozen=True)
class PolicyFacts:
    uses_auth: bool  # references auth.uid()/auth.jwt()/auth.role()
    admits_no_user: bool  # can be true for a caller without a user (anon)
    always_true: bool  # `true` or absent
    null_uid_test: bool  # contains `auth.uid() IS NULL`


def policy_facts(expr: str | None) -> PolicyFacts:
    """What an RLS expression (pg_policies.qual / with_check) demands of the caller."""
    if expr is None or not str(expr).strip():
        return PolicyFacts(False, True, True, False)
    tree = parse_expr(str(expr))
    if tree is None:
        return PolicyFacts(False, True, False, False)  # unparseable: assume the worst
    nodes = list(walk(tree))
    null_test = any(
        isinstance(n, ast.NullTest)
        and n.nulltesttype == NullTestType.IS_NULL
        and _is_auth_call(n.arg)
        for n in nodes
    )
    return PolicyFacts(
        uses_auth=any(_is_auth_call(n) for n in nodes),
        admits_no_user=_admits_no_user(tree),
        always_true=_is_true(tree),
        null_uid_test=null_test,
    )


def statement_kind(sql: str) -> str | None:
    """The pglast node name of a single statement ('CreateStmt', ...), None if unparseable."""
    try:
        stmts = parse_sql(sql)
    except ParseError:
        return None
    return type(stmts[0].stmt).__name__ if stmts else None
