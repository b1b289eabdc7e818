"""The edge-function form of "the first caller becomes admin" (see admin_bootstrap.py):
a count of admins (`.from('user_roles').select('*', { count: 'exact', head: true })
.eq('role', 'admin')`, or the rows themselves), a test that it is zero (`count === 0`,
`!admins?.length`), and in that branch a role row or app_metadata written for the caller
or a user id from the request. Rows go to `code_admin_bootstraps` with function
`function:<slug>`; SEC-PATH-ADMIN-BOOTSTRAP decides who can call the function.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import query_table
from ..ts.scope import resolve_value
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    line,
    normalized,
    object_properties,
    string_value,
    text,
    unwrap,
)
from .admin_bootstrap import ADMIN, ADMIN_FLAG

WRITES = frozenset({"insert", "upsert", "update"})


def _admin_count(call: Node) -> bool:
    """A query chain filtering on the admin role (`.eq('role', 'admin')`)."""
    node: Node | None = call
    while node is not None and node.type == "call_expression":
        args = call_args(node)
        filters = call_property(node) in {"eq", "match", "contains"} and len(args) >= 2
        if filters and (
            ADMIN.match(string_value(args[1]) or "")
            or ADMIN_FLAG.match(string_value(args[0]) or "")
        ):
            return True
        fn = unwrap(callee(node))
        node = unwrap(fn.child_by_field_name("object")) if fn is not None else None
    return False


def _holders(call: Node) -> list[str]:
    """Names the count lands in: `{ count }`, `{ data: admins }`, `const res = …`."""
    top = call
    while top.parent is not None and top.parent.type in {
        "await_expression",
        "parenthesized_expression",
    }:
        top = top.parent
    decl = top.parent
    if decl is None or decl.type != "variable_declarator":
        return []
    name = decl.child_by_field_name("name")
    if name is None:
        return []
    if name.type == "identifier":
        return [text(name)]
    names = []
    for child in name.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            names.append(text(child))
        elif child.type == "pair_pattern" and child.child_by_field_name("value") is not None:
            names.append(text(child.child_by_field_name("value")))
    return [n for n in names if n != "error"]


def _empty_test(cond: str, names: list[str]) -> bool:
    for n in map(re.escape, names):
        member = rf"{n}(\??\.(count|data|length))*"
        if re.search(
            rf"!\s*{member}\b(?!\s*\.)|{member}\s*===?\s*0\b|{member}\s*<\s*1\b|"
            rf"\(\s*{member}\s*\?\?\s*0\s*\)\s*===?\s*0",
            cond,
        ):
            return True
    return False


def _grant(pf: ParsedFile, call: Node) -> tuple[str, str] | None:
    """(table, grantee expression) of a write that gives the admin role."""
    args = call_args(call)
    if call_property(call) in WRITES:
        is_query, table = query_table(unwrap(callee(call)))
        payload = resolve_value(pf, args[0]) if args else None
        if not is_query or payload is None or payload.type != "object":
            return None
        props = {k: v for k, v, _ in object_properties(payload)}
        admin = any(
            (ADMIN.match(string_value(v) or "") and "role" in k)
            or (ADMIN_FLAG.match(k) and text(v) == "true")
            for k, v in props.items()
            if v is not None
        )
        if not admin:
            return None
        who = next((v for k, v in props.items() if re.search(r"user|uid|id$", k)), None)
        return str(table), text(who) if who is not None else "caller"
    if normalized(callee(call)).endswith("updateUserById") and len(args) >= 2:
        said = text(args[1])
        if "app_metadata" in said and re.search(r"admin", said):
            return "auth.users", text(args[0])
    return None


def code_bootstraps(pf: ParsedFile) -> list[dict]:
    if not pf.function_slug:
        return []
    rows = []
    for call in pf.nodes("call_expression"):
        if call_property(call) in WRITES or not _admin_count(call):
            continue
        if call.parent is not None and call.parent.type == "member_expression":
            continue  # not the end of the chain
        names = _holders(call)
        fn = enclosing_function(call)
        for stmt in pf.nodes("if_statement"):
            if stmt.start_byte < call.end_byte or (fn is not None and not contains(fn, stmt)):
                continue
            if not names or not _empty_test(text(stmt.child_by_field_name("condition")), names):
                continue
            branch = stmt.child_by_field_name("consequence")
            for inner in pf.nodes("call_expression"):
                if branch is None or not contains(branch, inner):
                    continue
                grant = _grant(pf, inner)
                if grant is None:
                    continue
                who = grant[1]
                rows.append(
                    {
                        "path": pf.path,
                        "line": line(inner),
                        "function": f"function:{pf.function_slug}",
                        "test_line": line(stmt),
                        "test": "count = 0",
                        "table": grant[0],
                        "grantee": "request:" + who
                        if re.search(r"body|params|query|payload|input", who)
                        else "caller",
                        "caller_admin_test": False,
                    }
                )
    return rows
