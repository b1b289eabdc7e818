"""Checkout Session facts from the code: each create call, its line item prices, the
metadata keys it writes (per object Stripe copies them onto) and the keys a webhook reads.

Metadata that cannot be followed (params or a container from a helper call, an unknown
spread) is recorded as a `*dynamic*` / `*spread*` key so that a check never fails a key
some unfollowable write may hold. Rules only record; checks decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import request_names, value_source
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    callee,
    contains,
    enclosing,
    line,
    member_parts,
    normalized,
    object_properties,
    property_value,
    string_value,
    text,
    unwrap,
)
from .webhook import event_context

# Checkout sessions ------------------------------------------------------------------------


def _is_checkout_create(call: Node) -> bool:
    chain = normalized(callee(call))
    return chain == "checkout.sessions.create" or chain.endswith(".checkout.sessions.create")


def _metadata_keys(pf: ParsedFile, value: Node | None, depth: int = 0) -> list[tuple[str, Node]]:
    obj = resolve_value(pf, value)
    if obj is None or obj.type != "object":
        return [("*dynamic*", value)] if value is not None else []
    keys: list[tuple[str, Node]] = []
    for key, val, prop in object_properties(obj):
        if key == "*spread*":
            spread = resolve_value(pf, val)
            if spread is not None and spread.type == "object" and depth < 3:
                keys.extend(_metadata_keys(pf, spread, depth + 1))
            else:
                keys.append(("*spread*", prop))
        else:
            keys.append((key, prop))
    return keys


def _price_rows(
    pf: ParsedFile, items: Node | None, names: set[str], accessors: dict[str, int], base: dict
) -> list[dict]:
    """`price:` (and `price_data.unit_amount`) anywhere inside a line_items value."""
    if items is None:
        return []
    rows = []
    for prop in pf.nodes("pair", "shorthand_property_identifier"):
        if not contains(items, prop):
            continue
        is_pair = prop.type == "pair"
        key = text(prop.child_by_field_name("key")) if is_pair else text(prop)
        value = prop.child_by_field_name("value") if is_pair else prop
        outer = enclosing(prop, {"pair"})
        in_data = outer is not None and text(outer.child_by_field_name("key")) == "price_data"
        if key == "price" or (key == "unit_amount" and in_data):
            source, table = value_source(pf, value, names, accessors, follow_calls=True)
            rows.append(
                {
                    **base,
                    "line": line(prop),
                    "property": "price" if key == "price" else "price_data.unit_amount",
                    "price_expr": text(value),
                    "source": source,
                    "table": table,
                }
            )
    return rows


def _lookup(pf: ParsedFile, obj: Node, key: str, depth: int = 0) -> tuple[Node | None, Node | None]:
    """Like property_value, but also looks inside `...spread` of same-file object literals."""
    value, prop = property_value(obj, key)
    if prop is not None or depth > 3:
        return value, prop
    for name, spread, _ in reversed(list(object_properties(obj))):
        target = resolve_value(pf, spread) if name == "*spread*" else None
        if target is not None and target.type == "object":
            value, prop = _lookup(pf, target, key, depth + 1)
            if prop is not None:
                return value, prop
    return None, None


# Stripe copies metadata only onto the object it is written on: which create call writes it
METADATA_OBJECTS = {
    "paymentIntents": "payment_intent",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "setupIntents": "setup_intent",
}


def _object_metadata_writes(pf: ParsedFile, base: dict) -> list[dict]:
    """Metadata keys written by `stripe.paymentIntents.create/update({ metadata })` and the
    like: a webhook reading `paymentIntent.metadata.x` gets them from there, not checkout."""
    rows = []
    for call in pf.nodes("call_expression"):
        parts = normalized(callee(call)).split(".")
        if len(parts) < 2 or parts[-1] not in {"create", "update"}:
            continue
        container = METADATA_OBJECTS.get(parts[-2])
        args = call_args(call)
        params = resolve_value(pf, args[-1]) if args else None
        if container is None or params is None or params.type != "object":
            continue
        value, prop = _lookup(pf, params, "metadata")
        for key, node in _metadata_keys(pf, value) if prop is not None else []:
            line_node = node if node is not None else prop
            rows.append({**base, "line": line(line_node), "container": container, "key": key})
    return rows


CONTAINERS = ("session", "subscription_data", "payment_intent_data")
NAME_TYPES = frozenset({"identifier", "shorthand_property_identifier"})


def _opaque_spread(pf: ParsedFile, obj: Node) -> bool:
    """Does `{ ...x }` spread something not followed to an object literal (it may hold any
    key: `metadata`, `subscription_data`…)?"""
    for name, val, _ in object_properties(obj):
        target = resolve_value(pf, val) if name == "*spread*" else None
        if name == "*spread*" and (target is None or target.type != "object"):
            return True
    return False


def _assigned_keys(pf: ParsedFile, names: set[str]) -> list[tuple[str, Node]]:
    """Keys added after the literal: `metadata.plan_id = …`, `params.metadata['x'] = …`,
    `Object.assign(metadata, { … })` (an argument it cannot follow is `*dynamic*`)."""
    keys: list[tuple[str, Node]] = []
    for node in pf.nodes("assignment_expression"):
        obj, key = member_parts(unwrap(node.child_by_field_name("left")))
        if obj is not None and key is not None and normalized(obj) in names:
            keys.append((key, node))
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if normalized(callee(call)) != "Object.assign" or not args:
            continue
        if normalized(args[0]) in names:
            for extra in args[1:]:
                keys += _metadata_keys(pf, extra)
    return keys


def _session_writes(
    pf: ParsedFile, call: Node, arg: Node | None, params: Node | None, base: dict
) -> list[dict]:
    """Metadata keys one create call writes, per container; `*dynamic*` where the call's
    params, a container or its metadata cannot be followed."""
    at = {**base, "line": line(call)}
    if params is None or params.type != "object":
        return [{**at, "container": c, "key": "*dynamic*"} for c in CONTAINERS]
    alias = text(unwrap(arg)) if arg is not None and unwrap(arg).type in NAME_TYPES else None
    opaque = _opaque_spread(pf, params)
    rows: list[dict] = []
    containers: list[tuple[str, Node, str | None]] = [("session", params, alias)]
    for name in CONTAINERS[1:]:
        value, prop = _lookup(pf, params, name)
        sub = resolve_value(pf, value)
        if sub is not None and sub.type == "object":
            containers.append((name, sub, f"{alias}.{name}" if alias else None))
        elif prop is not None or opaque:
            rows.append({**at, "container": name, "key": "*dynamic*"})
    for container, obj, path in containers:
        value, prop = _lookup(pf, obj, "metadata")
        names = {f"{path}.metadata"} if path else set()
        if value is not None and unwrap(value).type in NAME_TYPES:
            names.add(text(unwrap(value)))
        found = _metadata_keys(pf, value) if prop is not None else []
        found += _assigned_keys(pf, names) if names else []
        if prop is None and not found and _opaque_spread(pf, obj):
            rows.append({**at, "container": container, "key": "*dynamic*"})
        for key, node in found:
            where = node if node is not None else prop
            rows.append({**base, "line": line(where), "container": container, "key": key})
    return rows


def checkout_facts(pf: ParsedFile, accessors: dict[str, int]) -> dict[str, list[dict]]:
    """Checkout Session create calls: the call, each line item price, metadata keys written."""
    out: dict[str, list[dict]] = {"sessions": [], "prices": [], "writes": []}
    names = request_names(pf)
    base = {"path": pf.path, "function_slug": pf.function_slug}
    for call in pf.nodes("call_expression"):
        if not _is_checkout_create(call):
            continue
        args = call_args(call)
        params = resolve_value(pf, args[0]) if args else None
        out["writes"] += _session_writes(pf, call, args[0] if args else None, params, base)
        if params is None or params.type != "object":
            out["sessions"].append(
                {
                    **base,
                    "line": line(call),
                    "mode": None,
                    "success_url_expr": None,
                    "cancel_url_expr": None,
                    "params_resolved": False,
                }
            )
            continue
        mode, _ = _lookup(pf, params, "mode")
        success, _ = _lookup(pf, params, "success_url")
        cancel, _ = _lookup(pf, params, "cancel_url")
        out["sessions"].append(
            {
                **base,
                "line": line(call),
                "mode": string_value(mode),
                "success_url_expr": text(success) if success else None,
                "cancel_url_expr": text(cancel) if cancel else None,
                "params_resolved": True,
            }
        )
        items, _ = _lookup(pf, params, "line_items")
        out["prices"] += _price_rows(pf, resolve_value(pf, items), names, accessors, base)
    out["writes"] += _object_metadata_writes(pf, base)
    return out


# Metadata reads ---------------------------------------------------------------------------


def _metadata_owner(pf: ParsedFile, node: Node | None, depth: int = 0) -> str | None:
    """Text of `<x>` when node denotes `<x>.metadata` (directly, via `??`, or an alias)."""
    node = unwrap(node)
    if node is None or depth > 4:
        return None
    operator = text(node.child_by_field_name("operator"))
    if node.type == "binary_expression" and operator in {"??", "||"}:
        return _metadata_owner(pf, node.child_by_field_name("left"), depth + 1)
    obj, prop = member_parts(node)
    if prop == "metadata" and obj is not None:
        return normalized(obj)
    if node.type == "identifier":
        binding = trace(pf, text(node), node)
        if binding is not None and binding.kind == "param" and text(node) == "metadata":
            return "metadata"  # a parameter named metadata is taken to be one
        if binding is None or binding.kind not in {"var", "assign"} or binding.value is None:
            return None
        if binding.key_path == ("metadata",):
            return normalized(unwrap(binding.value))
        if not binding.key_path:
            return _metadata_owner(pf, binding.value, depth + 1)
    return None


def metadata_reads(pf: ParsedFile) -> list[dict]:
    """Keys read from `<x>.metadata`: dotted, optional, indexed and destructured, with the
    webhook events the read runs under (comma-separated; NA when no dispatch encloses it)."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug}
    rows = _metadata_read_rows(pf, base)
    for row, node in rows:
        events = sorted(e for e in event_context(pf, node) if e)
        row["event_types"] = ",".join(events) or None
    return sorted((r for r, _ in rows), key=lambda r: r["line"])


def _metadata_read_rows(pf: ParsedFile, base: dict) -> list[tuple[dict, Node]]:
    rows = []
    for node in pf.nodes("member_expression", "subscript_expression"):
        obj, key = member_parts(node)
        parent = node.parent
        if (
            key is None
            or obj is None
            or (
                parent is not None
                and parent.type == "assignment_expression"
                and parent.child_by_field_name("left") == node
            )
        ):
            continue
        owner = _metadata_owner(pf, obj)
        if owner is not None:
            rows.append(({**base, "line": line(node), "object_expr": owner, "key": key}, node))
    for decl in pf.nodes("variable_declarator"):
        pattern = decl.child_by_field_name("name")
        if pattern is None or pattern.type != "object_pattern":
            continue
        owner = _metadata_owner(pf, decl.child_by_field_name("value"))
        if owner is None:
            continue
        for child in pattern.named_children:
            if child.type == "shorthand_property_identifier_pattern":
                key = text(child)
            elif child.type == "pair_pattern":
                key_node = child.child_by_field_name("key")
                key = string_value(key_node) if key_node.type == "string" else text(key_node)
            elif child.type == "object_assignment_pattern":
                key = text(child.child_by_field_name("left"))
            else:
                continue  # `...rest` names no key; reads through `rest.x` are not followed
            rows.append(({**base, "line": line(child), "object_expr": owner, "key": key}, child))
    return rows
