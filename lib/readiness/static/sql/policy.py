"""Row-level-security expressions judged per caller, as an attacker would.

A policy expression is read with pglast and evaluated for four callers: an anonymous
visitor (the `anon` role, no user), a signed-in customer (`authenticated`, no special
role), an admin (`authenticated` with an admin role or claim) and the service role. The
answer is how many rows the expression admits: none, some (own rows, or rows matching a
condition) or all. Names and bodies of the project's own SQL functions say which calls
need a signed-in user (`is_member(org_id)` looking rows up by `auth.uid()`) and which are
admin predicates (`has_role(auth.uid(), 'admin')`, `is_admin()`, EXISTS over a roles
table with `role = 'admin'`, `app_metadata` claims): an admin predicate never lets a
customer through. `user_metadata` is written by the user themself, so a claim read
there is passable by any customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, BoolTestType, NullTestType, SubLinkType
from pglast.enums import SQLValueFunctionOp as SVF

from readiness.static.sql.facts import const_value, func_name, parse_expr, walk
from readiness.static.sql.functions import (
    ADMIN_FLAG,
    ADMIN_NAME,
    ADMIN_TABLE,
    CUSTOMER_ROLES,
    ROLE_COLUMN,
    Functions,
    tokens,
)

NONE, SOME, ALL = 0, 1, 2  # rows an expression admits


class Caller(Enum):
    ANON = "anon"
    CUSTOMER = "customer"
    ADMIN = "admin"
    SERVICE = "service_role"

    @property
    def db_role(self) -> str:
        return {"anon": "anon", "service_role": "service_role"}.get(self.value, "authenticated")


UID_FUNCS = {("auth", "uid"), ("uid",), ("auth", "email"), ("auth", "jwt"), ("jwt",)}


# --- expression evaluation ----------------------------------------------------------------


def _strip(node: Any) -> Any:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


def _op(node: ast.A_Expr) -> str:
    return getattr(node.name[-1], "sval", "") if node.name else ""


def _jwt_path(node: Any) -> list[str] | None:
    """Keys of `auth.jwt() -> 'a' ->> 'b'` (or of the request.jwt.claims setting), else None."""
    node = _strip(node)
    keys: list[str] = []
    while isinstance(node, ast.A_Expr) and _op(node) in ("->", "->>"):
        keys.insert(0, const_value(node.rexpr) or "")
        node = _strip(node.lexpr)
    if isinstance(node, ast.FuncCall):
        name = func_name(node)
        if name in (("auth", "jwt"), ("jwt",)):
            return keys
        if name[-1:] == ("current_setting",) and node.args:
            setting = const_value(node.args[0]) or ""
            if setting == "request.jwt.claims":
                return keys
            if setting.startswith("request.jwt.claim."):
                return [setting.removeprefix("request.jwt.claim."), *keys]
    return None


def _role_expr(node: Any) -> bool:
    """auth.role(), current_user, or the `role` claim: the database role of the request."""
    node = _strip(node)
    if isinstance(node, ast.FuncCall) and func_name(node) in (("auth", "role"),):
        return True
    if isinstance(node, ast.SQLValueFunction) and node.op in (
        SVF.SVFOP_CURRENT_USER,
        SVF.SVFOP_CURRENT_ROLE,
        SVF.SVFOP_SESSION_USER,
        SVF.SVFOP_USER,
    ):
        return True
    path = _jwt_path(node)
    return path == ["role"]


def _claim_kind(node: Any) -> str | None:
    """'user' for user_metadata claims (the user writes them), 'admin' for any other claim
    but `role`, 'email' for the email claim; None when `node` is not a JWT claim."""
    path = _jwt_path(node)
    if path is None:
        if isinstance(_strip(node), ast.FuncCall) and func_name(_strip(node)) == ("auth", "email"):
            return "email"
        return None
    if any(k in ("user_metadata", "raw_user_meta_data") for k in path):
        return "user"
    if path in (["email"], ["sub"]):
        return "email" if path == ["email"] else "uid"
    return "admin" if path and path != ["role"] else None


def _values(node: ast.A_Expr) -> list[str] | None:
    """Constant values on the right of `=`, `IN (...)`, `= ANY (ARRAY[...])`."""
    rex = _strip(node.rexpr)
    if node.kind == A_Expr_Kind.AEXPR_IN:
        items = list(rex or ())
    elif node.kind == A_Expr_Kind.AEXPR_OP_ANY:
        items = list(getattr(rex, "elements", None) or ())
    else:
        items = [rex]
    vals = [const_value(x) for x in items]
    return None if any(v is None for v in vals) else [str(v) for v in vals]


def _admin_literal(values: list[str]) -> bool:
    return any(v.lower() not in CUSTOMER_ROLES for v in values)


class Evaluator:
    """Rows an expression admits for one caller (NONE / SOME / ALL)."""

    def __init__(self, caller: Caller, functions: Functions | None = None) -> None:
        self.caller = caller
        self.functions = functions or Functions()

    # a signed-in-user test: NONE for anon, SOME for everyone signed in
    def _user(self) -> int:
        return NONE if self.caller == Caller.ANON else SOME

    def _admin(self) -> int:
        return ALL if self.caller in (Caller.ADMIN, Caller.SERVICE) else NONE

    def _customer_claim(self) -> int:
        return NONE if self.caller == Caller.ANON else ALL

    def uses_user(self, node: Any) -> bool:
        """Does `node` read the caller's identity (auth.uid(), a claim, a user function)?"""
        for n in walk(node):
            if isinstance(n, ast.FuncCall):
                name = func_name(n)
                if name in UID_FUNCS:
                    return True
                info = self.functions.get(name[-1]) if name else None
                if info and info.needs_user:
                    return True
                if name[-1:] == ("current_setting",) and _jwt_path(n) is not None:
                    return True
        return False

    def admin_call(self, node: Any) -> bool:
        node = _strip(node)
        if not isinstance(node, ast.FuncCall):
            return False
        name = func_name(node)
        if not name or name in UID_FUNCS or name == ("auth", "role"):
            return False
        info = self.functions.get(name[-1])
        lits = [const_value(a) for a in node.args or ()]
        lits = [v for v in lits if v is not None]
        takes_user = any(self.uses_user(a) for a in node.args or ())
        if lits and (takes_user or (info and info.needs_user) or ADMIN_NAME.search(name[-1])):
            return _admin_literal(lits)
        if info is not None:
            return info.admin
        return bool(ADMIN_NAME.search(name[-1])) and (takes_user or not node.args)

    def level(self, expr: str | None) -> int:
        if expr is None or not str(expr).strip():
            return ALL
        tree = parse_expr(str(expr))
        if tree is None:
            return SOME  # unparseable: assume it can be passed
        return self.ev(tree)

    def ev(self, node: Any) -> int:  # noqa: C901, PLR0911, PLR0912 - one case per node kind
        node = _strip(node)
        if self.caller == Caller.SERVICE:
            return ALL  # service_role bypasses row-level security
        if isinstance(node, ast.A_Const):
            if node.isnull:
                return NONE
            return ALL if const_value(node) == "True" else NONE if const_value(node) else SOME
        if isinstance(node, ast.BoolExpr):
            vals = [self.ev(a) for a in node.args]
            if node.boolop == BoolExprType.AND_EXPR:
                return min(vals)
            if node.boolop == BoolExprType.OR_EXPR:
                return max(vals)
            return ALL - vals[0]
        if isinstance(node, ast.BooleanTest):
            val = self.ev(node.arg)
            if node.booltesttype in (BoolTestType.IS_TRUE, BoolTestType.IS_NOT_FALSE):
                return val
            return ALL - val
        if isinstance(node, ast.NullTest):
            if self.uses_user(node.arg):
                is_null = node.nulltesttype == NullTestType.IS_NULL
                anon = self.caller == Caller.ANON
                return ALL if is_null == anon else NONE
            return SOME
        if isinstance(node, ast.CoalesceExpr):
            return max(self.ev(a) for a in node.args)
        if isinstance(node, ast.CaseExpr):
            return self._case(node)
        if isinstance(node, ast.A_Expr):
            return self._compare(node)
        if isinstance(node, ast.SubLink):
            return self._sublink(node)
        if isinstance(node, ast.FuncCall):
            return self._call(node)
        return self._user() if self.uses_user(node) else SOME

    def _case(self, node: ast.CaseExpr) -> int:
        """A branch counts as far as its condition can hold; ELSE when none holds."""
        conds = [SOME if node.arg is not None else self.ev(w.expr) for w in node.args or ()]
        branches = [min(c, self.ev(w.result)) for c, w in zip(conds, node.args or (), strict=True)]
        default = self.ev(node.defresult) if node.defresult is not None else NONE
        return max([*branches, min(ALL - max(conds, default=NONE), default)])

    def _compare(self, node: ast.A_Expr) -> int:  # noqa: C901, PLR0911 - one case per test
        negated = _op(node) in ("<>", "!=")
        left, right, values = node.lexpr, node.rexpr, _values(node)
        if values is None and const_value(left) is not None and node.kind == A_Expr_Kind.AEXPR_OP:
            left, right, values = right, left, [str(const_value(left))]  # 'x' = auth.role()
        if values is not None:
            if _role_expr(left):
                return ALL if (self.caller.db_role in values) != negated else NONE
            kind = _claim_kind(left)
            if kind == "user":
                return self._customer_claim()  # the user writes their own user_metadata
            if kind in ("admin", "email", "uid") or (
                self.uses_user(left) and not self.admin_call(left) and _admin_literal(values)
            ):
                # an app_metadata claim, a given email or user id, get_my_role() = 'admin'
                if not negated:
                    return self._admin()
                return NONE if self.caller == Caller.ANON else ALL - self._admin()
            if self.admin_call(left):
                return self._admin() if not negated else NONE
        sides = (left, right)
        if any(self.uses_user(s) for s in sides):
            if any(_claim_kind(s) == "user" for s in sides):
                return self._customer_claim()
            return self._user()
        if any(self.admin_call(s) for s in sides):
            return self._admin()
        return SOME

    def _sublink(self, node: ast.SubLink) -> int:
        sub = node.subselect
        tables = [n.relname for n in walk(sub) if isinstance(n, ast.RangeVar)]
        where = [n for n in walk(sub) if isinstance(n, ast.A_Expr)]
        user_meta = any(_claim_kind(n) == "user" for n in walk(sub)) or any(
            isinstance(n, ast.ColumnRef)
            and any(getattr(f, "sval", "") == "raw_user_meta_data" for f in n.fields)
            for n in walk(sub)
        )
        admin = any(ADMIN_TABLE.search(t or "") for t in tables)
        for cmp in where:
            col = _strip(cmp.lexpr)
            colname = getattr(col.fields[-1], "sval", "") if isinstance(col, ast.ColumnRef) else ""
            vals = _values(cmp)
            if vals and ROLE_COLUMN.match(colname) and _admin_literal(vals):
                admin = True
            if ADMIN_FLAG.match(colname) and vals and vals[0] in ("True", "true", "t"):
                admin = True
        for n in walk(sub):
            if isinstance(n, ast.ColumnRef) and ADMIN_FLAG.match(
                getattr(n.fields[-1], "sval", "") or ""
            ):
                admin = True
            if isinstance(n, ast.FuncCall) and self.admin_call(n):
                admin = True
        needs_user = self.uses_user(sub) or (
            node.testexpr is not None and self.uses_user(node.testexpr)
        )
        if node.subLinkType not in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ANY_SUBLINK):
            return self._user() if needs_user else SOME
        if needs_user and admin:
            return self._customer_claim() if user_meta else self._admin()
        return self._user() if needs_user else SOME

    def _call(self, node: ast.FuncCall) -> int:
        if self.admin_call(node):
            return self._admin()
        return self._user() if self.uses_user(node) else SOME


def pinned_columns(expr: str | None) -> set[str]:
    """Columns a WITH CHECK fixes to constants (`role = 'patient' AND ...`): the caller
    cannot choose their value."""
    tree = parse_expr(str(expr)) if expr is not None and str(expr).strip() else None
    if tree is None:
        return set()
    parts = (
        list(tree.args)
        if isinstance(tree, ast.BoolExpr) and tree.boolop == BoolExprType.AND_EXPR
        else [tree]
    )
    out = set()
    for p in parts:
        p = _strip(p)
        if isinstance(p, ast.A_Expr) and _op(p) == "=" and p.kind != A_Expr_Kind.AEXPR_OP_ALL:
            col = _strip(p.lexpr)
            if isinstance(col, ast.ColumnRef) and _values(p):
                out.add(str(getattr(col.fields[-1], "sval", "")))
    return out


def trusted_columns(exprs: Iterable[str | None], bodies: Iterable[str | None]) -> set[tuple]:
    """(table, column) pairs an authorization test reads: role-like columns compared in a
    policy's subquery (`EXISTS (SELECT 1 FROM owners WHERE id = auth.uid() AND role =
    'super_admin')`) or named with their table in a function body. A customer who can
    write one of them can grant themself what the test guards."""
    out: set[tuple] = set()
    for expr in exprs:
        tree = parse_expr(str(expr)) if isinstance(expr, str) and expr.strip() else None
        for sub in (n for n in walk(tree) if isinstance(n, ast.SelectStmt)) if tree else ():
            tables = {str(n.relname) for n in walk(sub) if isinstance(n, ast.RangeVar)}
            for n in walk(sub.whereClause):
                if isinstance(n, ast.ColumnRef):
                    col = str(getattr(n.fields[-1], "sval", "") or "")
                    if ROLE_COLUMN.match(col) or ADMIN_FLAG.match(col):
                        out |= {(t, col) for t in tables}
    for body in bodies:
        words = {
            text.strip('"').lower()
            for kind, text in (tokens(body) if isinstance(body, str) else [])
            if kind != "SCONST" and text.strip('"').isidentifier()
        }
        cols = {c for c in words if ROLE_COLUMN.match(c) or ADMIN_FLAG.match(c)}
        out |= {(t, c) for t in words - cols for c in cols}
    return out
