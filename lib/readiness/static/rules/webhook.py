"""What a Stripe webhook does on each event: order inserts and provisioning triggers,
with the event types (switch case, `if`, handler map, callers) they run under.

Split from `flow.py`: event dispatch is its own topic (`code_flow_webhook_actions`),
unrelated to how provisioning leaves an order's status. Rules only record; checks decide.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import callers_in_file, env_name_of, query_table
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    enclosing_function,
    function_name,
    line,
    normalized,
    object_properties,
    string_value,
    text,
    unwrap,
    walk,
)
from .stripe import EVENT_TYPE, _is_type_expr

FUNCTION_URL = re.compile(r"functions/v1/([A-Za-z0-9_-]+)")
PARAM_URL = re.compile(r"functions/v1/(\$\{param:\d+\})")


def _event_of_condition(pf: ParsedFile, cond: Node | None) -> list[str]:
    out = []
    for cmp in walk(cond) if cond is not None else []:
        if cmp.type != "binary_expression":
            continue
        if text(cmp.child_by_field_name("operator")) not in {"===", "=="}:
            continue
        left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
        for a, b in ((left, right), (right, left)):
            value = string_value(b)
            # `metadata.type === 'extension'` is no event: only dotted Stripe-like types count
            if value is not None and EVENT_TYPE.match(value) and _is_type_expr(pf, a):
                out.append(value)
    return out


def event_context(pf: ParsedFile, node: Node, depth: int = 0) -> set[str | None]:
    """Stripe event types under which `node` runs (switch case, `if`, handler map, callers);
    {None} when no event dispatch encloses it."""
    if depth > 4:
        return {None}
    current = node
    while current.parent is not None:
        parent = current.parent
        if parent.type == "switch_case":
            switch = parent.parent.parent if parent.parent is not None else None
            if switch is not None and _is_type_expr(pf, switch.child_by_field_name("value")):
                value = string_value(parent.child_by_field_name("value"))
                return {value}
        if parent.type == "if_statement" and current == parent.child_by_field_name("consequence"):
            events = _event_of_condition(pf, parent.child_by_field_name("condition"))
            if events:
                return set(events)
        if parent.type == "pair" and current == parent.child_by_field_name("value"):
            key = text(parent.child_by_field_name("key")).strip("'\"")
            if "." in key and current.type in FUNCTION_TYPES:
                return {key}
        if current.type in FUNCTION_TYPES and parent.type != "pair":
            sites = callers_in_file(pf, current)
            if sites:
                found: set[str | None] = set()
                for site in sites:
                    found |= event_context(pf, site, depth + 1)
                return found
            return map_events(pf, current) or {None}
        current = parent
    return {None}


def map_events(pf: ParsedFile, fn: Node) -> set[str | None]:
    """Event types of a handler map that names `fn`: `{ 'customer.subscription.deleted':
    onDeleted }` dispatches to a function defined elsewhere in the file."""
    name = function_name(fn)
    found: set[str | None] = set()
    for pair in pf.nodes("pair") if name else []:
        value = unwrap(pair.child_by_field_name("value"))
        key = text(pair.child_by_field_name("key")).strip("'\"")
        named = value is not None and value.type == "identifier" and text(value) == name
        if named and EVENT_TYPE.match(key):
            found.add(key)
    return found


def url_text(pf: ParsedFile, node: Node | None, depth: int = 0) -> str:
    """A URL expression as text with same-file bindings inlined: literals, templates,
    `+` concatenation, consts, env reads (`${env:NAME}`) and parameters (`${param:i}`);
    anything else is `${}`."""
    node = unwrap(node)
    if node is None or depth > 5:
        return "${}"
    literal = string_value(node)
    if literal is not None:
        return literal
    if node.type == "template_string":
        parts = []
        for child in node.children:
            if child.type == "template_substitution":
                inner = child.named_children[0] if child.named_children else None
                parts.append(url_text(pf, inner, depth + 1))
            elif child.type == "string_fragment":
                parts.append(text(child))
        return "".join(parts)
    if node.type == "binary_expression":
        operator = text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if operator == "+":
            return url_text(pf, left, depth + 1) + url_text(pf, right, depth + 1)
        if operator in {"??", "||"}:
            return url_text(pf, left, depth + 1)
        return "${}"
    env = env_name_of(pf, node, {}) if node.type != "identifier" else None
    if env:
        return f"${{env:{env}}}"
    if node.type == "identifier":
        binding = trace(pf, text(node), node)
        if binding is not None and binding.kind == "param":
            index = _param_position(binding)
            return f"${{param:{index}}}" if index is not None else "${}"
        if binding is not None and binding.value is not None and not binding.key_path:
            return url_text(pf, binding.value, depth + 1)
    return "${}"


def _param_position(binding) -> int | None:
    params = binding.scope.child_by_field_name("parameters")
    names = [
        text(p.child_by_field_name("pattern")) for p in (params.named_children if params else [])
    ]
    return names.index(binding.name) if binding.name in names else None


SLUG_AFTER_BASE = re.compile(r"^\$\{(?:env:)?([^}]*)\}/([A-Za-z0-9_-]+)/?(?:[?#].*)?$")


def _slug_of_url(url: str) -> str | None:
    """`.../functions/v1/<slug>`, or `${functionsUrl}/<slug>` (a base named for functions)."""
    match = PARAM_URL.search(url) or FUNCTION_URL.search(url)
    if match:
        return match.group(1)
    match = SLUG_AFTER_BASE.match(url)
    if match and "function" in match.group(1).lower():
        return match.group(2)
    return None


def _trigger_target(pf: ParsedFile, call: Node) -> str | None:
    """The function slug a call reaches: `fetch(<url of a function>)` or `invoke('<slug>')`;
    `${param:i}` when the slug is the enclosing helper's parameter i."""
    args = call_args(call)
    if not args:
        return None
    if normalized(callee(call)).endswith("functions.invoke"):
        return string_value(args[0]) or _param_slug(url_text(pf, args[0]))
    if call_property(call) == "fetch":
        return _slug_of_url(url_text(pf, args[0]))
    return None


def _param_slug(value: str) -> str | None:
    return value if PARAM.fullmatch(value) else None


PARAM = re.compile(r"\$\{param:(\d+)\}")


def _triggers(pf: ParsedFile) -> list[tuple[Node, str]]:
    """(call site, slug) of every function-to-function call, through same-file wrappers
    such as `callFunction('provision', body)` whose fetch URL ends in its parameter."""
    direct = [(c, _trigger_target(pf, c)) for c in pf.nodes("call_expression")]
    found = [(c, t) for c, t in direct if t and not PARAM.fullmatch(t)]
    for call, target in direct:
        match = PARAM.fullmatch(target or "")
        fn = enclosing_function(call) if match else None
        if fn is None:
            continue
        for site in callers_in_file(pf, fn):
            site_args = call_args(site)
            index = int(match.group(1))
            slug = string_value(site_args[index]) if index < len(site_args) else None
            if slug:
                found.append((site, slug))
    return found


# what a purchase is recorded in: orders, bookings, reservations, purchases
ORDER_NOUN = re.compile(r"order|booking|reservation|purchase", re.IGNORECASE)


def _sets_status(pf: ParsedFile, call: Node) -> bool:
    """`.update({ status: ... })` (or a `paid_at`/`payment_status` field): the payment is
    recorded on a row created before checkout, the usual pre-created-order pattern."""
    args = call_args(call)
    payload = resolve_value(pf, args[0]) if args else None
    keys = (
        {k for k, _, _ in object_properties(payload)}
        if payload is not None and payload.type == "object"
        else set()
    )
    return bool(keys & {"status", "payment_status", "paid_at", "paid", "is_paid"})


def webhook_actions(pf: ParsedFile) -> list[dict]:
    """Order inserts (and status updates / rpc records of pre-created orders or bookings)
    and provisioning triggers of a webhook, with the events they run under."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug}
    sites: list[tuple[Node, str, str | None]] = []
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        if prop in {"insert", "upsert", "update", "rpc"}:
            is_query, table = query_table(unwrap(callee(call)))
            if prop == "rpc":  # `rpc('create_booking', ...)` records through a function
                args = call_args(call)
                is_query = unwrap(callee(call)).type == "member_expression"
                table = string_value(args[0]) if args else None
            if is_query and table and ORDER_NOUN.search(table):
                action = "order_insert" if prop in {"insert", "upsert"} else "order_record"
                if prop != "update" or _sets_status(pf, call):
                    sites.append((call, action, table))
    sites += [(call, "provision_trigger", slug) for call, slug in _triggers(pf)]
    for call, action, target in sorted(sites, key=lambda s: s[0].start_byte):
        for event in sorted(event_context(pf, call), key=lambda e: e or ""):
            rows.append(
                {
                    **base,
                    "line": line(call),
                    "action": action,
                    "event_type": event,
                    "target": target,
                }
            )
    return rows


def object_keys(obj: Node) -> list[str]:
    return [k for k, _, _ in object_properties(obj) if not k.startswith("*")]
