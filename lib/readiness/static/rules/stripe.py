"""Stripe facts from the code: handled webhook events, signature checks, checkout calls.

Every rule reads a syntax tree (see ts/syntax.py) so that any formatting, quoting or handler
style yields the same facts. Rules only record; checks decide what is wrong.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import (
    Effects,
    first_effect_before,
)
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    member_parts,
    object_properties,
    string_value,
    text,
    unwrap,
)
from . import signature

SIGNATURE_CALLS = signature.SDK_CALLS
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")  # Stripe event types have a dot


# Webhook events ---------------------------------------------------------------------------


def _is_type_expr(pf: ParsedFile, node: Node | None, depth: int = 0) -> bool:
    """`<x>.type`, `<x>['type']`, or a name bound to it (`const { type } = event`)."""
    node = unwrap(node)
    if node is None or depth > 3:
        return False
    _, prop = member_parts(node)
    if prop == "type":
        return True
    if node.type == "identifier":
        binding = trace(pf, text(node), node)
        if binding is None or binding.kind not in {"var", "assign"}:
            return False
        if binding.key_path:
            return binding.key_path[-1] == "type"
        return _is_type_expr(pf, binding.value, depth + 1)
    return False


def _string_elements(pf: ParsedFile, node: Node | None) -> list[Node]:
    """String literals of an array, `new Set([...])` or `new Map([[k, v], ...])` keys."""
    node = resolve_value(pf, node)
    if node is not None and node.type == "new_expression":
        args = node.child_by_field_name("arguments")
        node = resolve_value(pf, args.named_children[0]) if args and args.named_children else None
    if node is None or node.type != "array":
        return []
    out = []
    for el in node.named_children:
        if el.type == "array" and el.named_children:
            el = el.named_children[0]
        if string_value(el) is not None:
            out.append(el)
    return out


def webhook_events(pf: ParsedFile) -> list[dict]:
    """Event types the code dispatches on: switch cases, comparisons, lists, handler maps."""
    found: list[tuple[Node, str, str]] = []  # (literal node, value, pattern)
    for sw in pf.nodes("switch_statement"):
        if _is_type_expr(pf, sw.child_by_field_name("value")):
            for case in sw.child_by_field_name("body").named_children:
                value = case.child_by_field_name("value") if case.type == "switch_case" else None
                if string_value(value) is not None:
                    found.append((value, string_value(value), "switch"))
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) not in {"===", "==", "!==", "!="}:
            continue
        left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
        for a, b in ((left, right), (right, left)):
            if string_value(b) is not None and _is_type_expr(pf, a):
                found.append((b, string_value(b), "comparison"))
    for call in pf.nodes("call_expression"):
        prop, args = call_property(call), call_args(call)
        fn = unwrap(callee(call))
        if prop not in {"includes", "has", "get"} or not args or fn is None:
            continue
        if not _is_type_expr(pf, args[0]) or fn.type != "member_expression":
            continue
        for el in _string_elements(pf, fn.child_by_field_name("object")):
            found.append((el, string_value(el), "list" if prop != "get" else "handler_map"))
    for sub in pf.nodes("subscript_expression"):
        if not _is_type_expr(pf, sub.child_by_field_name("index")):
            continue
        obj = resolve_value(pf, sub.child_by_field_name("object"))
        if obj is not None and obj.type == "object":
            for key, _, prop_node in object_properties(obj):
                found.append((prop_node, key, "handler_map"))
    rows, seen = [], set()
    for node, value, pattern in found:
        if value and EVENT_TYPE.match(value) and (node.start_byte, value) not in seen:
            seen.add((node.start_byte, value))
            rows.append(
                {
                    "path": pf.path,
                    "line": line(node),
                    "function_slug": pf.function_slug,
                    "event_type": value,
                    "pattern": pattern,
                }
            )
    return sorted(rows, key=lambda r: r["line"])


# Signature checks -------------------------------------------------------------------------


def signature_checks(
    pf: ParsedFile, accessors: dict[str, int], helpers: dict[str, int] | None = None
) -> list[dict]:
    """Each SDK verification call (`constructEvent(Async)`, `verifyHeader`), hand HMAC check
    or call of a verification helper: where its secret comes from, and its ordering."""
    rows = []
    effects = Effects(pf)
    helpers = helpers or {}
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        if prop not in signature.SDK_CALLS:
            continue
        args = call_args(call)
        secret = args[2] if len(args) > 2 else None
        env = signature.secret_env(pf, secret, accessors)
        if env is None and signature.exported_helper(pf, call, secret, helpers):
            continue  # judged where the helper is called, with the secret it is given
        effect = first_effect_before(pf, call, effects)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "call": prop,
                "secret_env": env,
                "secret_expr": text(secret) if secret is not None else None,
                "payload_expr": text(args[0]) if args else None,
                "before_side_effects": effect is None,
                "first_side_effect_line": line(effect) if effect is not None else None,
            }
        )
    rows += signature.hand_signature_checks(pf, accessors, helpers, effects)
    return sorted(rows, key=lambda r: r["line"])
