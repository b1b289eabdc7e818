"""Where the panel ids of a server-create payload come from: its owner (`user`) and its
port (`allocation.default`). Rows join `code_flow_server_payload` with field 'user' or
'allocation'.

A literal owner gives every customer's server to one panel user (who then sees them all);
a literal allocation puts every server on one port, so the second one fails or collides.
The origin says how the value was reached: `literal` (written in the payload), `constant`
(a same-file binding or object literal holding one), `env` (one value from the
deployment's environment) or `derived` (anything else: a lookup, a parameter, a value
the rule cannot follow). Ids built up later (`payload.user = 1`,
`body.allocation = { default: 7 }`) count as well. Rules only record; PANEL-CODE-HARDCODED-IDS
judges.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import env_name_of
from ..ts.scope import bindings, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    callee,
    contains,
    line,
    literal_value,
    member_parts,
    normalized,
    object_properties,
    property_value,
    text,
    unwrap,
)

# calls that only change a value's type: Number('1') is still the literal 1
CASTS = frozenset({"Number", "parseInt", "parseFloat", "String", "BigInt", "Math.trunc"})
MAX_DEPTH = 8
Origin = tuple[str, str | None]  # (origin, literal value as text)


def id_origin(pf: ParsedFile, node: Node | None, depth: int = 0) -> Origin:
    """(origin, value) of an id: a literal, a constant, an env var, or derived."""
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return "derived", None
    raw = literal_value(node)
    if raw is not None and node.type not in {"true", "false", "null"}:
        return "literal", raw
    if node.type == "unary_expression" and text(node).startswith("+"):
        return id_origin(pf, node.named_children[0] if node.named_children else None, depth + 1)
    if node.type == "call_expression" and normalized(callee(node)) in CASTS:
        args = call_args(node)
        return id_origin(pf, args[0] if args else None, depth + 1)
    if env_name_of(pf, node, {}):
        return "env", None
    if node.type in {"member_expression", "subscript_expression"}:
        obj, key = member_parts(node)
        target = _object_literal(pf, obj, depth)
        if target is None or key is None:
            return "derived", None
        value, _ = property_value(target, key)
        return _as_constant(id_origin(pf, value, depth + 1))
    if node.type in {"identifier", "shorthand_property_identifier"}:
        binding = _single_binding(pf, node)
        if binding is None or binding.value is None:
            return "derived", None
        value = binding.value
        for key in binding.key_path:  # const { ownerId } = PANEL_DEFAULTS
            target = _object_literal(pf, value, depth)
            value = property_value(target, key)[0] if target is not None else None
        return _as_constant(id_origin(pf, value, depth + 1))
    return "derived", None


def _as_constant(found: Origin) -> Origin:
    return ("constant", found[1]) if found[0] == "literal" else found


def _single_binding(pf: ParsedFile, ident: Node):
    """The declaration `ident` reads when nothing reassigns it (`let id = 1; id = acc.id`
    is not a constant); parameters, imports and functions are not followed."""
    binding = trace(pf, text(ident), ident)
    if binding is None or binding.kind != "var":
        return None
    reassigned = [
        b
        for b in bindings(pf, text(ident))
        if b.kind == "assign" and contains(binding.scope, b.node)
    ]
    return None if reassigned else binding


def _object_literal(pf: ParsedFile, node: Node | None, depth: int) -> Node | None:
    """The object literal a name or a member chain holds (`CONFIG`, `CONFIG.panel`)."""
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type == "object":
        return node
    if node.type in {"identifier", "shorthand_property_identifier"}:
        binding = _single_binding(pf, node)
        if binding is None or binding.key_path:
            return None
        return _object_literal(pf, binding.value, depth + 1)
    if node.type in {"member_expression", "subscript_expression"}:
        obj, key = member_parts(node)
        target = _object_literal(pf, obj, depth + 1)
        if target is None or key is None:
            return None
        return _object_literal(pf, property_value(target, key)[0], depth + 1)
    return None


def _payload_name(payload: Node) -> Node | None:
    """The variable a payload object is bound to (`const body = { egg, ... }`)."""
    parent = payload.parent
    while parent is not None and parent.type in {
        "as_expression",
        "satisfies_expression",
        "parenthesized_expression",
    }:
        parent = parent.parent
    if parent is None or parent.type != "variable_declarator":
        return None
    name = parent.child_by_field_name("name")
    return name if name is not None and name.type == "identifier" else None


def _later_assignments(pf: ParsedFile, payload: Node) -> list[tuple[str, Node, Node]]:
    """(field, value, place) of `body.user = v`, `body.allocation = v` and
    `body.allocation.default = v` on the variable holding the payload."""
    name = _payload_name(payload)
    if name is None:
        return []
    out = []
    for assign in pf.nodes("assignment_expression"):
        left = unwrap(assign.child_by_field_name("left"))
        if left is None or left.type not in {"member_expression", "subscript_expression"}:
            continue
        obj, key = member_parts(left)
        obj = unwrap(obj)
        path = [key]
        if obj is not None and obj.type in {"member_expression", "subscript_expression"}:
            inner, outer_key = member_parts(obj)
            obj, path = unwrap(inner), [outer_key, key]
        if obj is None or obj.type != "identifier" or text(obj) != text(name):
            continue
        binding = trace(pf, text(obj), obj)
        if binding is None or binding.node != name:
            continue
        value = assign.child_by_field_name("right")
        if path == ["user"] or path == ["allocation"]:
            out.append((path[0], value, assign))
        elif path == ["allocation", "default"]:
            out.append(("allocation", value, assign))
    return out


def _allocation_id(pf: ParsedFile, value: Node | None) -> Node | None:
    """The id inside `allocation: { default: id }` (or the value itself when it is no
    object: `allocation: 7`)."""
    target = _object_literal(pf, value, 0)
    if target is None:
        return value
    default, _ = property_value(target, "default")
    return default


def id_fields(pf: ParsedFile, payloads: list[Node]) -> list[dict]:
    """One row per `user` / allocation id a server-create payload sends."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug, "game": "*"}
    for payload in payloads:
        places: list[tuple[str, Node | None, Node]] = []
        for key, value, prop in object_properties(payload):
            if key in {"user", "allocation"}:
                places.append((key, value if value is not None else prop, prop))
        places += _later_assignments(pf, payload)
        for field, value, place in places:
            if field == "allocation":
                held = unwrap(value)
                # `allocation: ALLOC` with `const ALLOC = { default: 7 }` is a constant
                through_name = held is not None and held.type in {
                    "identifier",
                    "member_expression",
                    "shorthand_property_identifier",
                }
                value = _allocation_id(pf, value)
                if value is None:  # `allocation: { additional: [...] }` names no default
                    continue
                origin, raw = id_origin(pf, value)
                if through_name and origin == "literal":
                    origin = "constant"
            else:
                origin, raw = id_origin(pf, value)
            rows.append(
                {
                    **base,
                    "line": line(place),
                    "field": field,
                    "value": raw,
                    "resolved": raw is not None,
                    "origin": origin,
                }
            )
    return rows
