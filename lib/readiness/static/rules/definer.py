"""SECURITY DEFINER functions that read another user's rows (issue 16): the function runs
as its owner, past row-level security, takes a user id the caller chooses
(`get_orders(p_user_id uuid)`) and returns the rows of a table filtered by that id
(`where user_id = p_user_id`) without ever tying the id to the caller. Whoever may
EXECUTE it reads any customer's data by passing their id to /rest/v1/rpc.

`code_definer_user_reads`: one row per such read (guarded ones included, so a reader sees
why a function is not flagged): the parameter, the table and column it filters, the
function's declared result, and `guard` — how the id is tied to the caller when it is
(compared with auth.uid(), an admin gate, the id handed to a project function that may
check it). `code_function_grants`: every GRANT/REVOKE EXECUTE on a function, so a chain
can point at the grant that opened it. Bodies are read from sql_bodies' pglast pieces
(SQL and PL/pgSQL alike); rules only record, the check decides.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast
from pglast.enums import FunctionParameterMode, ObjectType, RoleSpecType

from ..sql.facts import func_name, split_statements, walk
from .admin_bootstrap import ADMIN, ADMIN_FLAG, ADMIN_FUNC, CALLER_FUNCS
from .sql import type_name
from .sql_bodies import Piece, _parse, function_name, pieces

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_definer_user_reads": {
        "path": S,
        "line": N,  # the CREATE FUNCTION statement
        "schema": S,
        "name": S,
        "param": S,  # the parameter's name, or `$n` for an unnamed one
        "table": S,  # the table read, filtered by the parameter
        "column": S,  # its column compared with the parameter
        "returns": S,  # the declared result (`setof orders`, `json`, `table(...)`)
        "values": S,  # what the read hands back: column names, `table.*` for whole rows
        "guarded": B,
        "guard": S,  # caller | admin | call:<fn> | NA
        "body_line": N,  # the reading statement
    },
    "code_function_grants": {
        "path": S,
        "line": N,
        "schema": S,
        "name": S,
        "action": S,  # grant | revoke
        "grantees": S,  # comma-separated: public, anon, authenticated, service_role…
    },
}
# A parameter naming whose account the function reads: the caller chooses it.
USER_PARAM = re.compile(
    r"^_?(p_|in_|arg_|param_|a_|v_)?(target_|for_|of_|the_)?(user|uid|profile|account|customer|"
    r"owner|member|tenant|player|client|buyer|author)(_?id|_uuid)?$"
    # a tenant's id: another business's rows are as private as another user's
    r"|^_?(p_|in_|arg_|param_|a_|v_)?(target_)?(business|org|organization|organisation|company|"
    r"team|workspace|tenant)_?id$",
    re.I,
)
USER_COLUMN = re.compile(
    r"^(user|owner|customer|account|profile|member|tenant|player|client|buyer|author|"
    r"created_by)(_?id|_uuid)?$|^uid$|^(business|org|organization|organisation|company|team|"
    r"workspace|tenant)_id$",
    re.I,
)
USER_TABLE = re.compile(r"^(profiles?|users?|customers?|accounts?|members?|user_profiles)$", re.I)
ID_TYPES = frozenset({"uuid", "text", "varchar", "bpchar", "citext", "character varying"})
NO_DATA = frozenset(  # results that tell a bit or a number, not another user's rows
    {"void", "trigger", "event_trigger", "bool", "boolean", "int2", "int4", "int8", "integer",
     "bigint", "smallint", "numeric"}
)  # fmt: skip
COUNTS = frozenset({"count", "exists"})
# Built-ins a parameter passes through without anyone checking it.
PLAIN = frozenset(
    {"coalesce", "nullif", "lower", "upper", "trim", "btrim", "concat", "format", "greatest",
     "least", "text", "uuid", "jsonb_build_object", "json_build_object", "raise", "quote_literal"}
)  # fmt: skip
CURRENT_SETTING = ("current_setting",)


def _inputs(stmt: ast.CreateFunctionStmt) -> list[tuple[str, str]]:
    """(name or `$n`, type) of the input parameters, in `$n` order."""
    out = []
    for p in stmt.parameters or ():
        if p.mode in (FunctionParameterMode.FUNC_PARAM_OUT, FunctionParameterMode.FUNC_PARAM_TABLE):
            continue
        out.append((p.name or f"${len(out) + 1}", type_name(p.argType).lower()))
    return out


def _returns(stmt: ast.CreateFunctionStmt) -> str:
    cols = [
        p.name or "?"
        for p in stmt.parameters or ()
        if p.mode == FunctionParameterMode.FUNC_PARAM_TABLE
    ]
    if cols:
        return f"table({', '.join(cols)})"
    rt = stmt.returnType
    if rt is None:  # a procedure, or OUT parameters
        outs = [p for p in stmt.parameters or () if p.mode == FunctionParameterMode.FUNC_PARAM_OUT]
        return "record" if outs else "void"
    return ("setof " if rt.setof else "") + type_name(rt)


def _is_definer(stmt: ast.CreateFunctionStmt) -> bool:
    for opt in stmt.options or ():
        if opt.defname == "security":
            return bool(getattr(opt.arg, "boolval", False))
    return False


def _ref(node: Any, params: dict[str, str]) -> str | None:
    """The parameter a node names (`p_user`, `fn.p_user`, `$1`, `p_user::uuid`)."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ParamRef):
        return params.get(f"${node.number}")
    if isinstance(node, ast.ColumnRef) and node.fields and len(node.fields) <= 2:
        name = str(getattr(node.fields[-1], "sval", "") or "")
        return params.get(name.lower())
    return None


def _calls_caller(node: Any) -> bool:
    for n in walk(node):
        name = func_name(n)
        if name in CALLER_FUNCS or name[-1:] == ("uid",):
            return True
        if name[-1:] == CURRENT_SETTING and "jwt" in str(n).lower():
            return True
    return False


def _guard(node: Any, params: dict[str, str], param: str) -> str | None:
    """How a statement ties the parameter to the caller, if it does."""
    for n in walk(node):
        name = func_name(n)
        if name and (ADMIN_FUNC.search(".".join(name)) or ADMIN_FLAG.match(name[-1])):
            return "admin"
        passes = any(_ref(a, params) == param for a in getattr(n, "args", None) or ())
        if name and name[-1].lower() not in PLAIN and name not in CALLER_FUNCS and passes:
            return f"call:{'.'.join(name)}"
        if isinstance(n, ast.A_Expr) and n.lexpr is not None and n.rexpr is not None:
            for side, other in ((n.lexpr, n.rexpr), (n.rexpr, n.lexpr)):
                if _ref(side, params) == param and _calls_caller(other):
                    return "caller"
    if _calls_caller(node) and any(
        isinstance(c, ast.A_Const) and ADMIN.match(str(getattr(c.val, "sval", "") or ""))
        for c in walk(node)
    ):
        return "admin"  # exists (select 1 from user_roles where user_id = auth.uid() …)
    return None


def _aliases(select: ast.SelectStmt) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in walk(select.fromClause or ()):
        if isinstance(n, ast.RangeVar):
            out.setdefault("", n.relname)
            out[(n.alias.aliasname if n.alias else n.relname).lower()] = n.relname
    return out


def _values(select: ast.SelectStmt) -> str:
    """The columns the target list carries (`email`, `o.*` for a whole row as in `select *`
    or `row_to_json(o)`), so the check can tell another user's email from their display
    name; counts, EXISTS and scalar subqueries (judged on their own) carry nothing: an
    empty answer is a select that returns no table values."""
    aliases = _aliases(select)
    out: list[str] = []
    stack = list(select.targetList or ())
    while stack:
        node = stack.pop()
        if (
            isinstance(node, ast.FuncCall)
            and func_name(node)[-1:]
            and func_name(node)[-1] in COUNTS
        ):
            continue
        if isinstance(node, (ast.SubLink, ast.SelectStmt)):
            continue
        if isinstance(node, ast.A_Star):
            out.append(f"{aliases.get('', '?')}.*")
        elif isinstance(node, ast.ColumnRef):
            names = [str(getattr(f, "sval", "*")) for f in node.fields]
            if isinstance(node.fields[-1], ast.A_Star):
                out.append(f"{aliases.get(names[0].lower() if len(names) > 1 else '', '?')}.*")
            elif len(names) == 1 and names[0].lower() in aliases and names[0].lower() != "":
                out.append(f"{aliases[names[0].lower()]}.*")  # row_to_json(o): the whole row
            else:
                out.append(names[-1])
        else:
            stack += [c for c in _children(node)]
    return ", ".join(dict.fromkeys(reversed(out)))


def _children(node: Any) -> list[Any]:
    if isinstance(node, (list, tuple)):
        return list(node)
    if not isinstance(node, ast.Node):
        return []
    return [getattr(node, f) for f in node if getattr(node, f, None) is not None]


def _filters(select: ast.SelectStmt, params: dict[str, str]) -> list[tuple[str, str, str]]:
    """(param, table, column) of each `column = param` in the WHERE or a JOIN ON."""
    aliases = _aliases(select)
    if not aliases:
        return []
    quals = [select.whereClause] + [
        n.quals for n in walk(select.fromClause or ()) if isinstance(n, ast.JoinExpr)
    ]
    out = []
    for qual in quals:
        for n in walk(qual):
            if not (isinstance(n, ast.A_Expr) and n.name and n.lexpr and n.rexpr):
                continue
            if getattr(n.name[-1], "sval", "") != "=":
                continue
            for side, other in ((n.lexpr, n.rexpr), (n.rexpr, n.lexpr)):
                param = _ref(side, params)
                if param is None or not isinstance(other, ast.ColumnRef):
                    continue
                names = [str(getattr(f, "sval", "")) for f in other.fields]
                if _ref(other, params) is not None or not names[-1]:
                    continue
                qualifier = names[0].lower() if len(names) > 1 else ""
                out.append((param, aliases.get(qualifier, aliases[""]), names[-1]))
    return out


def _user_id(param: str, ptype: str, table: str, column: str) -> bool:
    """A user id: a uuid/text parameter named for a user, or compared with a user column
    (`user_id`, `owner_id`, the `id` of profiles/users/customers)."""
    if ptype.split(".")[-1] not in ID_TYPES:
        return False
    user_key = USER_COLUMN.match(column) or (column == "id" and USER_TABLE.match(table))
    return bool(USER_PARAM.match(param.lstrip("$")) or user_key)


def definer_user_reads(path: str, sql: str) -> list[dict]:
    """Reads filtered by a caller-chosen user id in the SECURITY DEFINER functions of one
    migration."""
    defs: dict[str, tuple[int, ast.CreateFunctionStmt]] = {}
    body: dict[str, list[Piece]] = {}
    for statement in split_statements(sql):
        for stmt in _parse(statement.sql):
            if isinstance(stmt, ast.CreateFunctionStmt) and _is_definer(stmt):
                defs[function_name(stmt)] = (statement.line, stmt)
    for piece in pieces(path, sql):
        if piece.function in defs:
            body.setdefault(piece.function, []).append(piece)
    rows = []
    for fn, (line, stmt) in defs.items():
        returns = _returns(stmt)
        if returns.removeprefix("setof ").split(".")[-1].lower() in NO_DATA:
            continue
        inputs = _inputs(stmt)
        params = {n.lower(): n for n, _ in inputs}
        params.update({f"${i}": n for i, (n, _) in enumerate(inputs, 1)})
        types = dict(inputs)
        found = body.get(fn, [])
        for piece in found:
            for select in walk(piece.node):
                if not isinstance(select, ast.SelectStmt) or not (values := _values(select)):
                    continue
                for param, table, column in _filters(select, params):
                    if not _user_id(param, types.get(param, ""), table, column):
                        continue
                    guard = next(
                        (g for p in found if (g := _guard(p.node, params, param))), None
                    ) or ("caller" if _calls_caller(select.whereClause) else None)
                    schema, _, name = fn.rpartition(".")
                    rows.append(
                        {
                            "path": path,
                            "line": line,
                            "schema": schema,
                            "name": name,
                            "param": param,
                            "table": table,
                            "column": column,
                            "returns": returns,
                            "values": values,
                            "guarded": guard is not None,
                            "guard": guard,
                            "body_line": piece.line,
                        }
                    )
    return _unique(rows)


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        key = (r["name"], r["param"], r["table"], r["column"], r["body_line"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def function_grants(path: str, sql: str) -> list[dict]:
    """GRANT / REVOKE EXECUTE ON FUNCTION statements of one migration."""
    rows = []
    for statement in split_statements(sql):
        for stmt in _parse(statement.sql):
            if not isinstance(stmt, ast.GrantStmt) or stmt.objtype != ObjectType.OBJECT_FUNCTION:
                continue
            privs = [p.priv_name for p in stmt.privileges or ()]
            if privs and "execute" not in privs:
                continue
            who = ",".join(
                "public" if g.roletype == RoleSpecType.ROLESPEC_PUBLIC else str(g.rolename)
                for g in stmt.grantees or ()
            )
            for obj in stmt.objects or ():
                if not isinstance(obj, ast.ObjectWithArgs):
                    continue  # ON ALL FUNCTIONS IN SCHEMA s: a schema name, no function
                names = [str(getattr(n, "sval", "")) for n in obj.objname or ()]
                rows.append(
                    {
                        "path": path,
                        "line": statement.line,
                        "schema": names[0] if len(names) > 1 else "public",
                        "name": names[-1],
                        "action": "grant" if stmt.is_grant else "revoke",
                        "grantees": who,
                    }
                )
    return rows
