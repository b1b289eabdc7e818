"""What a Stripe webhook does on each event: order inserts and provisioning triggers,
with the event types (switch case, `if`, handler map, callers) they run under.

Split from `flow.py`: event dispatch is its own topic (`code_flow_webhook_actions`),
unrelated to how provisioning leaves an order's status. Rules only record; checks decide.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import callers_in_file, query_table
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    normalized,
    object_properties,
    string_value,
    text,
    unwrap,
    walk,
)
from .stripe import _is_type_expr

FUNCTION_URL = re.compile(r"functions/v1/([A-Za-z0-9_-]+)")


def _event_of_condition(pf: ParsedFile, cond: Node | None) -> list[str]:
    out = []
    for cmp in walk(cond) if cond is not None else []:
        if cmp.type != "binary_expression":
            continue
        if text(cmp.child_by_field_name("operator")) not in {"===", "=="}:
            continue
        left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
        for a, b in ((left, right), (right, left)):
            if string_value(b) is not None and _is_type_expr(pf, a):
                out.append(string_value(b))
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
            return {None}
        current = parent
    return {None}


def _trigger_target(call: Node) -> str | None:
    """The function slug a call reaches: `fetch(.../functions/v1/<slug>)` or `invoke('<slug>')`."""
    args = call_args(call)
    if not args:
        return None
    if normalized(callee(call)).endswith("functions.invoke"):
        return string_value(args[0])
    if call_property(call) == "fetch":
        match = FUNCTION_URL.search(text(args[0]))
        return match.group(1) if match else None
    return None


def webhook_actions(pf: ParsedFile) -> list[dict]:
    """Order inserts and provisioning triggers of a webhook, with the events they run under."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug}
    for call in pf.nodes("call_expression"):
        action = target = None
        if call_property(call) in {"insert", "upsert"}:
            is_query, table = query_table(unwrap(callee(call)))
            if is_query and table and "order" in table:
                action, target = "order_insert", table
        else:
            target = _trigger_target(call)
            action = "provision_trigger" if target else None
        if action is None:
            continue
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
