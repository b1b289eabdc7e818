"""The request-body keys each edge function reads (`code_function_body_keys`): from
`await req.json()` or `JSON.parse(await req.text())`, destructured (`const { orderId } =`),
as members (`body.order_id`, `body['order_id']`) or destructured from the body variable;
the other keys it accepts in its place (`body.orderId ?? body.order_id`); and whether a
missing key ends the request: an unconditional `if (!orderId)` / `typeof x !== 'string'`
/ `x == null` test whose branch answers >= 400 or throws. A key with a default or a
literal fallback is never required. A function that routes (`switch (path) { case 'login':
return handleLogin(req) }`) requires a route handler's keys only on that route: a read in
a helper every call of which is conditional is never required of every caller. Callers
are in `function_calls.py`; rules only record.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import request_names
from ..ts.responses import Responses
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    callee,
    contains,
    enclosing,
    enclosing_function,
    function_name,
    line,
    member_parts,
    normalized,
    string_value,
    text,
    unwrap,
    walk,
)
from .provision_errors import _failure_branch

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_function_body_keys": {
        "path": S,
        "line": N,
        "function_slug": S,
        "key": S,
        "alternatives": S,  # other keys read in its place (`?? body.order_id`), comma-separated
        "required": B,
        "answer": S,  # respond | throw, when required
        "status": N,  # the status answered when the key is missing, if known
        "fail_line": N,
    },
}
CONDITIONALS = frozenset({"if_statement", "switch_case", "ternary_expression", "catch_clause"})
FALLBACK_OPS = frozenset({"??", "||"})


def _body_calls(pf: ParsedFile) -> list[Node]:
    """`req.json()` and `JSON.parse(await req.text())` of the request (`c.req.json()`)."""
    names = request_names(pf)
    found = []
    for call in pf.nodes("call_expression"):
        fn = unwrap(callee(call))
        if fn is None or fn.type != "member_expression":
            continue
        obj, prop = member_parts(fn)
        obj = unwrap(obj)
        is_req = obj is not None and (
            (obj.type == "identifier" and text(obj) in names)
            or (obj.type == "member_expression" and member_parts(obj)[1] in {"req", "request"})
        )
        if prop == "json" and is_req and not call_args(call):
            found.append(call)
        elif prop == "text" and is_req:
            outer = call.parent
            while outer is not None and outer.type in {"await_expression", "arguments"}:
                outer = outer.parent
            if outer is not None and normalized(callee(outer)) == "JSON.parse":
                found.append(outer)
    return found


def _holder(node: Node) -> Node:
    """The expression whose value `node` becomes: through await, parentheses, `as T`."""
    top = node
    while top.parent is not None and top.parent.type in {
        "await_expression",
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
    }:
        top = top.parent
    return top


def _pattern_keys(pattern: Node) -> list[tuple[str, Node, bool]]:
    """(key, local name node, has a default) of an object destructuring pattern."""
    out = []
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            out.append((text(child), child, False))
        elif child.type == "object_assignment_pattern":
            left = child.child_by_field_name("left")
            if left is not None:
                out.append((text(left), left, True))
        elif child.type == "pair_pattern":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is None or value is None:
                continue
            name = string_value(key) or text(key)
            if value.type == "assignment_pattern":
                local = value.child_by_field_name("left")
                out.append((name, local, True)) if local is not None else None
            else:
                out.append((name, value, False))
    return out


def _body_vars(pf: ParsedFile, source: Node) -> tuple[list[Node], list[tuple]]:
    """(identifiers that hold the whole body, destructured (key, name node, default))."""
    top = _holder(source)
    parent = top.parent
    if parent is None:
        return [], []
    if parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            return [name], []
        if name is not None and name.type == "object_pattern":
            return [], _pattern_keys(name)
    if parent.type == "assignment_expression":
        left = unwrap(parent.child_by_field_name("left"))
        if left is not None and left.type == "identifier":
            return [left], []
    return [], []


def _member_reads(pf: ParsedFile, var: Node) -> list[tuple[str, Node]]:
    """(key, read node) of `body.key`, `body['key']` and `const { key } = body` in the
    function that declares the body variable."""
    scope = enclosing_function(var) or pf.root
    name = text(var)
    reads = []
    for node in pf.nodes("member_expression", "subscript_expression"):
        if not contains(scope, node):
            continue
        obj, key = member_parts(node)
        obj = unwrap(obj)
        if obj is None or obj.type != "identifier" or text(obj) != name or key is None:
            continue
        if (
            node.type == "subscript_expression"
            and string_value(node.child_by_field_name("index")) is None
        ):
            continue
        parent = node.parent
        if (
            parent is not None
            and parent.type == "assignment_expression"
            and (parent.child_by_field_name("left") == node)
        ):
            continue
        reads.append((key, node))
    return reads


def _alias_patterns(pf: ParsedFile, var: Node) -> list[tuple]:
    """`const { a, b } = body` after `const body = await req.json()`."""
    scope = enclosing_function(var) or pf.root
    out = []
    for decl in pf.nodes("variable_declarator"):
        value = unwrap(decl.child_by_field_name("value"))
        pattern = decl.child_by_field_name("name")
        if (
            contains(scope, decl)
            and value is not None
            and value.type == "identifier"
            and text(value) == text(var)
            and pattern is not None
            and pattern.type == "object_pattern"
        ):
            out += _pattern_keys(pattern)
    return out


def _fallbacks(read: Node, body_names: set[str]) -> tuple[Node, list[str]]:
    """(the expression that stands for the key, other body keys it falls back to)."""
    top = read
    others: list[str] = []
    while top.parent is not None and top.parent.type == "binary_expression":
        if text(top.parent.child_by_field_name("operator")) not in FALLBACK_OPS:
            break
        top = top.parent
    if top != read:
        for node in walk(top):
            if node.type in {"member_expression", "subscript_expression"} and node != read:
                obj, key = member_parts(node)
                obj = unwrap(obj)
                if obj is not None and text(obj) in body_names and key:
                    others.append(key)
        if not others:
            others.append("*default*")  # `body.x ?? 'none'`: a default, never missing
    return top, others


def _tests_missing(cond: Node, names: set[str], exprs: set[str]) -> bool:
    """Does the condition test that the value is missing (`!x`, `x == null`,
    `typeof x !== 'string'`, `!x?.trim()`), alone or in an `||` of such tests?"""
    cond = unwrap(cond)
    if cond is None:
        return False

    def is_value(n: Node | None) -> bool:
        n = unwrap(n)
        if n is None:
            return False
        if text(n) in exprs or (n.type == "identifier" and text(n) in names):
            return True
        if n.type == "call_expression":  # x.trim(), String(x)
            fn = unwrap(callee(n))
            if fn is not None and fn.type == "member_expression":
                return is_value(member_parts(fn)[0])
            return any(is_value(a) for a in call_args(n))
        if n.type == "member_expression":  # x.length, x?.trim
            return is_value(member_parts(n)[0])
        return False

    if cond.type == "unary_expression" and text(cond).startswith("!"):
        return is_value(cond.named_children[0] if cond.named_children else None)
    if cond.type == "binary_expression":
        op = text(cond.child_by_field_name("operator"))
        left, right = cond.child_by_field_name("left"), cond.child_by_field_name("right")
        if op == "||":
            return _tests_missing(left, names, exprs) or _tests_missing(right, names, exprs)
        if op in {"==", "===", "!=", "!=="}:
            for a, b in ((left, right), (right, left)):
                b_text = text(unwrap(b))
                if op in {"==", "==="} and is_value(a) and b_text in {"null", "undefined", "''"}:
                    return True
                ua = unwrap(a)
                if (
                    op in {"!=", "!=="}
                    and ua is not None
                    and ua.type == "unary_expression"
                    and text(ua).startswith("typeof")
                    and is_value(ua.named_children[0] if ua.named_children else None)
                ):
                    return True
                if op in {"==", "==="} and text(ua).startswith("typeof") and "undefined" in b_text:
                    return is_value(ua.named_children[0] if ua.named_children else None)
    return False


def _unconditional(node: Node, fn: Node | None) -> bool:
    """Not under an if, a switch case, a ternary or a catch inside its function."""
    child, current = node, node.parent
    while current is not None and current != fn:
        in_test = current.type == "if_statement" and child == current.child_by_field_name(
            "condition"
        )
        if current.type in CONDITIONALS and not in_test:
            return False
        child, current = current, current.parent
    return True


def _route_only(pf: ParsedFile, fn: Node | None) -> bool:
    """Is `fn` a helper the file calls only under a condition (one route of a router)?
    A helper called on every request, or not called in the file, is not."""
    name = function_name(fn) if fn is not None else None
    if not name:
        return False
    sites = [
        call
        for call in pf.nodes("call_expression")
        if normalized(callee(call)) == name and not contains(fn, call)
    ]
    return bool(sites) and not any(
        _unconditional(call, enclosing(call, FUNCTION_TYPES)) for call in sites
    )


def _required(pf: ParsedFile, at: Node, names: set[str], exprs: set[str], responses: Responses):
    """(answer, status, fail line) of the first unconditional test after `at` that ends
    the request when the value is missing; None when no such test."""
    fn = enclosing_function(at)
    for stmt in pf.nodes("if_statement"):
        cond = stmt.child_by_field_name("condition")
        tested_here = cond is not None and contains(cond, at)
        if (stmt.start_byte < at.end_byte and not tested_here) or (
            fn is not None and not contains(fn, stmt)
        ):
            continue
        if enclosing_function(stmt) != fn or not _unconditional(stmt, fn):
            continue
        if not _tests_missing(cond, names, exprs):
            continue
        branch = stmt.child_by_field_name("consequence")
        if branch is None:
            continue
        answer, status = _failure_branch(pf, branch, responses)
        if answer == "throw" or (answer == "respond" and status is not None and status >= 400):
            return answer, status, line(stmt)
    return None


def body_keys(pf: ParsedFile, responses: Responses) -> list[dict]:
    """The request-body keys the file reads for its function, and which are required."""
    if not pf.function_slug:
        return []
    rows: dict[str, list[dict]] = {}
    for source in _body_calls(pf):
        vars_, direct = _body_vars(pf, source)
        entries: list[tuple[str, Node, set[str], set[str], list[str]]] = []
        for key, local, default in direct:
            entries.append((key, local, {text(local)}, set(), ["*default*"] if default else []))
        for var in vars_:
            body_names = {text(var)}
            for key, local, default in _alias_patterns(pf, var):
                entries.append((key, local, {text(local)}, set(), ["*default*"] if default else []))
            for key, read in _member_reads(pf, var):
                top, others = _fallbacks(read, body_names)
                names: set[str] = set()
                parent = top.parent
                if parent is not None and parent.type == "variable_declarator":
                    holder = parent.child_by_field_name("name")
                    if holder is not None and holder.type == "identifier":
                        names.add(text(holder))
                entries.append((key, read, names, {text(read)}, others))
        for key, node, names, exprs, others in entries:
            if not key or key.startswith("*"):
                continue
            alternatives = sorted({o for o in others if o != key})
            fn = enclosing_function(node)
            required = None
            if (
                "*default*" not in alternatives
                and _unconditional(node, fn)
                and not _route_only(pf, fn)
            ):
                required = _required(pf, node, names, exprs, responses)
            rows.setdefault(key, []).append(
                {
                    "path": pf.path,
                    "line": line(node),
                    "function_slug": pf.function_slug,
                    "key": key,
                    "alternatives": alternatives,
                    "required": required is not None,
                    "answer": required[0] if required else None,
                    "status": required[1] if required else None,
                    "fail_line": required[2] if required else None,
                }
            )
    out = []
    for found in rows.values():  # one row a key: its required read, else its first one
        pick = next((r for r in found if r["required"]), found[0])
        accepted = sorted({a for r in found for a in r["alternatives"]} - {"*default*"})
        out.append({**pick, "alternatives": ",".join(accepted) or None})
    return out
