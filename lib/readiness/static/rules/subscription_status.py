"""Status writes a Stripe webhook makes on `customer.subscription.updated`, and whether each
is guarded by the subscription's own status (issue 16, subscription lifecycle).

The event fires for every change of a subscription (past_due, unpaid, paused, a plan
change...), so a write of 'paid' or 'active' there must depend on `subscription.status`:
an `if`/`switch`/ternary/`&&` on it, an early `if (sub.status !== 'active') return`, or a
value computed from it (`status: mapStatus(sub.status)`). Rules only record; the check
(FLOW-SUBSCRIPTION-UPDATED-STATUS, area 2) decides.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import callers_in_file
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    enclosing_function,
    function_name,
    line,
    string_value,
    text,
    unwrap,
    walk,
)
from .status_flow import StatusFlow, _status_nodes
from .webhook import ORDER_NOUN, event_context

SUBSCRIPTION_UPDATED = "customer.subscription.updated"
EXITS = frozenset({"return_statement", "break_statement", "throw_statement", "continue_statement"})


def _status_reads(node: Node | None) -> list[Node]:
    """`x.status` reads (and a bare `status` binding) in `node`, the order's own excluded:
    `order.status === 'paid'` says nothing about the subscription."""
    found = []
    for n in walk(node) if node is not None else []:
        if n.type == "member_expression" and text(n.child_by_field_name("property")) == "status":
            if not ORDER_NOUN.search(text(n.child_by_field_name("object"))):
                found.append(n)
        elif n.type == "identifier" and text(n) in {"status", "subStatus", "subscriptionStatus"}:
            found.append(n)
    return found


def _exits(node: Node) -> bool:
    return node.type in EXITS or any(n.type in EXITS for n in walk(node))


def _early_exit(siblings: list[Node], before: Node) -> str | None:
    """`if (<status test>) return;` among the statements before `before`."""
    for stmt in siblings:
        if stmt.start_byte >= before.start_byte:
            break
        if stmt.type != "if_statement":
            continue
        cond = stmt.child_by_field_name("condition")
        if _status_reads(cond) and _exits(stmt.child_by_field_name("consequence")):
            return text(cond)
    return None


def _local_guard(node: Node) -> tuple[str | None, Node | None]:
    """The status guard between `node` and its function; else (None, that function)."""
    current = node
    while current.parent is not None:
        parent = current.parent
        if parent.type == "if_statement" and current != parent.child_by_field_name("condition"):
            cond = parent.child_by_field_name("condition")
            if _status_reads(cond):
                return text(cond), None
        if parent.type == "switch_statement" and _status_reads(parent.child_by_field_name("value")):
            return f"switch {text(parent.child_by_field_name('value'))}", None
        if parent.type == "ternary_expression" and current != parent.child_by_field_name(
            "condition"
        ):
            cond = parent.child_by_field_name("condition")
            if _status_reads(cond):
                return text(cond), None
        if (
            parent.type == "binary_expression"
            and text(parent.child_by_field_name("operator")) == "&&"
            and current == parent.child_by_field_name("right")
            and _status_reads(parent.child_by_field_name("left"))
        ):
            return text(parent.child_by_field_name("left")), None
        if parent.type in {"statement_block", "switch_case", "program"}:
            early = _early_exit(list(parent.named_children), current)
            if early:
                return early, None
        if parent.type in FUNCTION_TYPES:
            return None, parent
        current = parent
    return None, None


def status_guard(pf: ParsedFile, node: Node, depth: int = 0) -> str | None:
    """The subscription-status test every path from the event to `node` passes, following
    same-file helpers to their calls under the event; None when some path has none."""
    guard, fn = _local_guard(node)
    if guard is not None or fn is None or depth > 4:
        return guard
    if fn.parent is not None and fn.parent.type == "pair":
        return None  # the handler of an event map: nothing above it tests the status
    sites = [s for s in callers_in_file(pf, fn) if SUBSCRIPTION_UPDATED in event_context(pf, s)]
    guards = [status_guard(pf, s, depth + 1) for s in sites]
    return guards[0] if guards and all(guards) else None


def _value(value: Node) -> tuple[str | None, str]:
    """(literal, how): 'literal', 'mapped' (computed from a status) or 'other'."""
    literal = string_value(value)
    if literal is not None:
        return literal, "literal"
    return None, "mapped" if _status_reads(unwrap(value)) else "other"


def subscription_updates(pf: ParsedFile, flow: StatusFlow | None = None) -> list[dict]:
    """Every status write reached on `customer.subscription.updated` (helper writes of a
    parameter reported at their call site), with the status guard over it."""
    flow = flow or StatusFlow(pf)
    base = {"path": pf.path, "function_slug": pf.function_slug}
    rows = []
    seen: set[tuple[int, int]] = set()
    for call, table, resolved, index in flow.writes:
        sites: list[tuple[Node, Node, str | None]] = []  # (where, value node, helper)
        if index is None:
            sites = [(call, v, None) for v in _status_nodes(pf, call)]
        else:
            fn = enclosing_function(call)
            for site in callers_in_file(pf, fn) if fn is not None else []:
                args = call_args(site)
                if index < len(args):
                    sites.append((site, args[index], function_name(fn)))
        for where, value, helper in sites:
            if (where.start_byte, value.start_byte) in seen:
                continue
            seen.add((where.start_byte, value.start_byte))
            if SUBSCRIPTION_UPDATED not in event_context(pf, where):
                continue
            literal, how = _value(value)
            if literal is None and resolved is not None and helper is None:
                literal, how = resolved, "literal"  # `const next = 'active'; {status: next}`
            rows.append(
                {
                    **base,
                    "line": line(where),
                    "table": table,
                    "value": literal,
                    "value_kind": how,
                    "value_expr": text(value)[:120],
                    "helper": helper,
                    "guard": (status_guard(pf, where) or "")[:160] or None,
                }
            )
    return sorted(rows, key=lambda r: r["line"])
