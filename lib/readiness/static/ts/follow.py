"""How an amount or a price id is followed beyond plain bindings (value_source's
`follow_calls`): numeric wrappers, arithmetic with constants, same-file helpers' returns,
parameters' call-site arguments, several constants assigned per case.

Split from idioms.py (which keeps value_source and re-exports these names); nothing here
imports idioms, so both can use the shared worst-case ranking.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from .scope import bindings, local_function, trace
from .syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    function_name,
    normalized,
    string_value,
    text,
    unwrap,
)

# Worst case wins when a value has several possible origins (see combine_sources).
RANK = {"request": 5, "literal": 4, "env": 3, "constant_map": 2, "database": 2, "unknown": 1}


def combine_sources(results: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """Worst case wins: a client-controlled or hard-coded branch taints the value."""
    return max(results, key=lambda r: RANK[r[0]]) if results else ("unknown", None)


def callers_in_file(pf: ParsedFile, fn: Node) -> list[Node]:
    """Calls in the file that invoke the named function `fn` (not its recursive calls)."""
    name = function_name(fn)
    if not name:
        return []
    return [
        c
        for c in pf.nodes("call_expression")
        if not contains(fn, c) and local_function(pf, c) == fn
    ]


NUMERIC_WRAPPERS = frozenset(
    {"Number", "parseInt", "parseFloat", "String", "BigInt"}
    | {f"Math.{f}" for f in ("round", "floor", "ceil", "trunc", "abs", "min", "max")}
)
VALUE_METHODS = frozenset({"toFixed", "toString", "trim", "valueOf", "toPrecision"})
ARITHMETIC = frozenset({"*", "/", "+", "-", "%"})
Again = Callable[..., tuple[str, str | None]]


def follow_steps(pf: ParsedFile, node: Node, again: Again) -> tuple[str, str | None] | None:
    """The `follow_calls` steps of value_source; None when none applies."""
    operator = text(node.child_by_field_name("operator"))
    if node.type == "binary_expression" and operator in ARITHMETIC:
        parts = [node.child_by_field_name(f) for f in ("left", "right")]
        kept = [again(p) for p in parts if p is not None and unwrap(p).type != "number"]
        scaled = [k for k in kept if k[0] == "database"]
        if operator in {"*", "/"} and scaled:
            return scaled[0]  # a stored price times a quantity is still the stored price
        return _server_side_constants(kept)
    if node.type == "ternary_expression":
        parts = [again(node.child_by_field_name(f)) for f in ("consequence", "alternative")]
        if all(p[0] == "literal" for p in parts):
            return "constant_map", None  # a constant chosen server-side
        return _server_side_constants(parts)
    if node.type == "binary_expression" and operator in {"??", "||"}:
        right = unwrap(node.child_by_field_name("right"))
        if right is not None and (right.type == "number" or string_value(right) is not None):
            left = again(node.child_by_field_name("left"))
            return left if left[0] != "unknown" else None  # `x ?? 0`: a default, not a price
        return None
    if node.type == "identifier":
        return _assigned_everywhere(pf, node, again)
    if node.type != "call_expression":
        return None
    chain, args = normalized(callee(node)), call_args(node)
    if chain in NUMERIC_WRAPPERS:
        kept = [a for a in args if unwrap(a).type != "number"]
        return combine_sources([again(a) for a in kept]) if kept else ("literal", None)
    fn = unwrap(callee(node))
    if call_property(node) in VALUE_METHODS and fn is not None and fn.type == "member_expression":
        return again(fn.child_by_field_name("object"))
    target = local_function(pf, node)
    if target is None:
        return None
    body = target.child_by_field_name("body")
    returned = [body] if body is not None and body.type != "statement_block" else []
    returned += [
        r.named_children[0]
        for r in pf.nodes("return_statement")
        if r.named_children and enclosing_function(r) == target
    ]
    return combine_sources([again(r) for r in returned]) if returned else None


def _server_side_constants(parts: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """Constants next to stored values (`fee ? spot.rate * h : 0`, `base + 100`) are the
    server's own numbers: the other parts decide; only constants are 'literal'."""
    others = [p for p in parts if p[0] != "literal"]
    return combine_sources(others) if others else ("literal", None)


def _assigned_everywhere(pf: ParsedFile, node: Node, again: Again) -> tuple[str, str | None] | None:
    """`let amount; switch (plan) { case 'a': amount = 9700; ... }`: every assignment counts
    (several constants are a server-side choice), not just the latest before the use."""
    binding = trace(pf, text(node), node)
    if binding is None or binding.kind != "assign":
        return None
    scope = enclosing_function(node) or pf.root
    values = [
        b.value
        for b in bindings(pf, text(node))
        if b.kind == "assign" and b.value is not None and contains(scope, b.node)
    ]
    if len(values) < 2:
        return None
    found = [again(v) for v in values]
    literals = {text(unwrap(v)) for v, f in zip(values, found, strict=True) if f[0] == "literal"}
    if all(f[0] == "literal" for f in found) and len(literals) > 1:
        return "constant_map", None
    return combine_sources(found)


def from_callers(pf: ParsedFile, binding, again: Again) -> tuple[str, str | None]:
    """A parameter's value: the worst of the arguments same-file callers pass for it."""
    fn = binding.scope
    params = fn.child_by_field_name("parameters")
    names = [
        text(p.child_by_field_name("pattern")) for p in (params.named_children if params else [])
    ]
    if binding.name not in names:
        return "unknown", None
    index = names.index(binding.name)
    args = [call_args(c) for c in callers_in_file(pf, fn)]
    found = [again(a[index]) for a in args if index < len(a)]
    return combine_sources(found) if found else ("unknown", None)


def is_constant_lookup(node: Node, key_path: tuple[str, ...]) -> bool:
    """`MAP[key]` (a computed key) rather than `CONFIG.price`: a choice among constants."""
    if node.type == "subscript_expression":
        return string_value(node.child_by_field_name("index")) is None
    return False
