"""What a function hands back and changes: anything but status in a response (``returns_rows``)
and side effects (``side_effect``: database writes, RPC, network calls) — the
``code_auth_facts`` rows that tell a health check from a data leak.

A health check that pings the database with the service role and answers
`{ ok: true, latency_ms }` exposes nothing, even without a caller check; a function that
answers `data` of a service-role query does. Counts (`{ count }`) and errors are not rows.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import side_effect_kind
from ..ts.scope import local_function, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    literal_value,
    member_parts,
    object_properties,
    text,
    unwrap,
)

# `new Response`, Response.json, c.json, res.send and helpers such as jsonResponse/corsResponse
RESPONDERS = re.compile(r"[rR]esponse$|^json|Json$|^(respond|reply|send|ok)$")
# SDK calls that change something elsewhere (Stripe, Resend, Twilio, ...)
SDK_WRITE = re.compile(
    r"^(create|send|update|delete|del|remove|cancel|refund|capture|transfer|pay|post|put|"
    r"patch|insert|upsert|invite|generateLink|confirm|charge|publish|enqueue|trigger)",
)
WRITE_METHOD = re.compile(r"method\s*:\s*['\"`](POST|PUT|PATCH|DELETE)", re.I)


STATUS_MEMBERS = frozenset({"length", "message", "status", "ok", "count", "size", "name"})
STATUS_CALLS = re.compile(r"^(Date\.now|performance\.now|Math\.\w+|Number|Boolean|String)$")
STATUS_KEYS = frozenset({"count", "error", "status", "statusText"})
COMPARE = frozenset({"===", "!==", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "??"})
ARITH = frozenset({"-", "+", "*", "/", "%"})


def status_only(pf: ParsedFile, node: Node | None, depth: int = 0) -> bool:
    """Is a response value made only of literals, flags, counts, timings and messages
    (what a health check answers), never rows? Follows consts and one local helper."""
    node = unwrap(node)
    if node is None:
        return True
    if depth > 10:
        return False
    t = node.type
    if literal_value(node) is not None or t in {"undefined", "null", "true", "false", "number"}:
        return True
    if t == "template_string":
        return all(
            status_only(pf, c.named_children[0] if c.named_children else None, depth + 1)
            for c in node.named_children
            if c.type == "template_substitution"
        )
    if t == "object":
        return all(
            status_only(pf, v if v is not None else prop, depth + 1)
            for _, v, prop in object_properties(node)
        )
    if t == "array":
        return all(status_only(pf, c, depth + 1) for c in node.named_children)
    if t == "unary_expression":
        return True  # !x, !!x, typeof x, -x
    if t == "binary_expression":
        op = text(node.child_by_field_name("operator"))
        if op in {"===", "!==", "==", "!=", "<", ">", "<=", ">="}:
            return True
        if op in COMPARE or op in ARITH:
            return all(
                status_only(pf, node.child_by_field_name(f), depth + 1) for f in ("left", "right")
            )
        return False
    if t == "ternary_expression":
        return all(
            status_only(pf, node.child_by_field_name(f), depth + 1)
            for f in ("consequence", "alternative")
        )
    if t in {"member_expression", "subscript_expression"}:
        return member_parts(node)[1] in STATUS_MEMBERS or "toISOString" in text(node)
    if t == "new_expression":
        return text(node.child_by_field_name("constructor")) == "Date"
    if t == "call_expression":
        chain = text(callee(node))
        if STATUS_CALLS.match(chain) or chain.endswith(("toISOString", "toFixed", "toString")):
            return True
        fn = local_function(pf, node)
        if fn is None:
            return False
        returns = [
            r.named_children[0] if r.named_children else None
            for r in pf.nodes("return_statement")
            if contains(fn, r) and _same(enclosing_function(r), fn)
        ]
        body = fn.child_by_field_name("body")
        if body is not None and body.type != "statement_block":
            returns.append(body)
        return bool(returns) and all(status_only(pf, r, depth + 1) for r in returns)
    if t in {"identifier", "shorthand_property_identifier"}:
        binding = trace(pf, text(node), node)
        if binding is None or binding.kind in {"param", "import", "function"}:
            return False
        if binding.key_path and binding.key_path[-1] in STATUS_KEYS:
            return True  # `const { count, error } = await db.from(...)`
        value = unwrap(binding.value)
        if value is None or binding.key_path:
            return False
        if value.type in {"object", "array"} and not value.named_children:
            return False  # an accumulator (`const results = []`) is filled later
        return status_only(pf, value, depth + 1)
    return False


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and (a.start_byte, a.end_byte) == (b.start_byte, b.end_byte)


def _payload(node: Node) -> Node | None:
    """The body a response carries: `new Response(JSON.stringify(x))` -> x."""
    args = call_args(node)
    first = unwrap(args[0]) if args else None
    if (
        first is not None
        and first.type == "call_expression"
        and text(callee(first))
        in {
            "JSON.stringify",
        }
    ):
        inner = call_args(first)
        return inner[0] if inner else None
    return first


def _is_responder(node: Node) -> bool:
    if node.type == "new_expression":
        return text(node.child_by_field_name("constructor")) == "Response"
    return node.type == "call_expression" and bool(RESPONDERS.search(call_property(node) or ""))


def exposure_facts(pf: ParsedFile) -> list[dict]:
    from .callers import auth_row

    rows: list[dict] = []
    for node in pf.nodes("call_expression", "new_expression"):
        if _is_responder(node) and not status_only(pf, _payload(node)):
            rows.append(auth_row(pf, node, "returns_rows", "payload", text(node)[:60]))
            break
    seen: set[str] = set()
    for call in pf.nodes("call_expression"):
        kind = side_effect_kind(call)
        if kind == "fetch" and not WRITE_METHOD.search(text(call.child_by_field_name("arguments"))):
            continue  # a GET (a probe, a lookup) changes nothing
        fn = unwrap(callee(call))
        if kind is None and fn is not None and fn.type == "member_expression":
            kind = "sdk_call" if SDK_WRITE.match(call_property(call) or "") else None
        if kind and kind not in seen:
            seen.add(kind)
            rows.append(auth_row(pf, call, "side_effect", kind, text(callee(call))[-60:]))
    return rows
