"""Purchase-flow facts from the code: order status writes, what the webhook does on a paid
checkout, and whether provisioning leaves an order in an in-progress status on some path.

Rules read syntax trees (ts_ast/ts_scope), so `if (x) return`, helpers such as
`markError(id)`, `try/catch/finally` and handler maps are all understood the same way
whatever the formatting. Rules only record; checks (area 2) decide what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from .code_idioms import callers_in_file, query_table
from .code_rules_stripe import _is_type_expr
from .ts_ast import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    function_name,
    line,
    normalized,
    object_properties,
    property_value,
    string_value,
    text,
    unwrap,
)
from .ts_scope import resolve_value, trace

WRITE_METHODS = frozenset({"insert", "update", "upsert"})
IN_PROGRESS = frozenset({"provisioning", "installing"})
FINAL = frozenset({"provisioned", "active", "error"})
UNCONDITIONAL = frozenset({"expression_statement", "lexical_declaration", "variable_declaration"})
STATEMENT_LISTS = frozenset({"statement_block", "switch_case", "switch_default", "program"})
FUNCTION_URL = re.compile(r"functions/v1/([A-Za-z0-9_-]+)")
HANDLER_CALLS = frozenset({"serve", "listen"})


def _status_nodes(pf: ParsedFile, call: Node) -> list[Node]:
    """The `status` value nodes of an insert/update/upsert payload (objects or arrays)."""
    args = call_args(call)
    payload = resolve_value(pf, args[0]) if args else None
    objects = [payload] if payload is not None and payload.type == "object" else []
    if payload is not None and payload.type == "array":
        objects = [resolve_value(pf, e) for e in payload.named_children]
    out = []
    for obj in objects:
        if obj is not None and obj.type == "object":
            value, _ = property_value(obj, "status")
            if value is not None:
                out.append(value)
    return out


class StatusFlow:
    """Which calls set which order statuses, directly or through same-file helpers."""

    def __init__(self, pf: ParsedFile) -> None:
        self.pf = pf
        self.calls = pf.nodes("call_expression")
        # (write call, table, value or None, param index when the value is a parameter)
        self.writes: list[tuple[Node, str | None, str | None, int | None]] = []
        for call in self.calls:
            if call_property(call) not in WRITE_METHODS:
                continue
            is_query, table = query_table(unwrap(callee(call)))
            if not is_query:
                continue
            for value in _status_nodes(pf, call):
                self.writes.append((call, table, *self._value(value)))
        self._memo: dict[int, frozenset[str]] = {}

    def _value(self, node: Node) -> tuple[str | None, int | None]:
        literal = string_value(node)
        if literal is not None:
            return literal, None
        node = unwrap(node)
        if node is not None and node.type in {"identifier", "shorthand_property_identifier"}:
            binding = trace(self.pf, text(node), node)
            if binding is not None and binding.kind == "param":
                params = binding.scope.child_by_field_name("parameters")
                names = [
                    text(p.child_by_field_name("pattern"))
                    for p in (params.named_children if params else [])
                ]
                if binding.name in names:
                    return None, names.index(binding.name)
            if binding is not None and binding.value is not None and not binding.key_path:
                return string_value(binding.value), None
        return None, None

    def function_sets(self, fn: Node, stack: tuple[int, ...] = ()) -> frozenset[str]:
        """Literal statuses written anywhere inside `fn` (following local helper calls)."""
        key = fn.start_byte
        if key in stack or len(stack) > 5:
            return frozenset()
        if key not in self._memo:
            found: set[str] = set()
            for call in self.calls:
                if contains(fn, call) and call is not fn:
                    found |= self.call_sets(call, stack + (key,))
            self._memo[key] = frozenset(found)
        return self._memo[key]

    def call_sets(self, call: Node, stack: tuple[int, ...] = ()) -> frozenset[str]:
        """Statuses a call writes: a direct write, or a helper (with literal arguments)."""
        found = {v for c, _, v, _ in self.writes if c == call and v}
        fn = _local_function(self.pf, call)
        if fn is not None:
            found |= self.function_sets(fn, stack)
            args = call_args(call)
            for c, _, _, index in self.writes:
                if index is not None and contains(fn, c) and index < len(args):
                    value = string_value(args[index])
                    if value:
                        found.add(value)
        return frozenset(found)

    def node_sets(self, node: Node) -> frozenset[str]:
        """Statuses written by any call inside `node` (a statement or expression)."""
        found: set[str] = set()
        for call in self.calls:
            if contains(node, call):
                found |= self.call_sets(call)
        return frozenset(found)


def _local_function(pf: ParsedFile, call: Node) -> Node | None:
    fn = unwrap(callee(call))
    if fn is None or fn.type != "identifier":
        return None
    binding = trace(pf, text(fn), call)
    value = unwrap(binding.value) if binding is not None else None
    return value if value is not None and value.type in FUNCTION_TYPES else None


def status_writes(pf: ParsedFile, flow: StatusFlow | None = None) -> list[dict]:
    """Every literal status a call writes to a table (helpers reported at their call site)."""
    flow = flow or StatusFlow(pf)
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug, "column": "status"}
    for call, table, value, index in flow.writes:
        if value is not None:
            rows.append(
                {**base, "line": line(call), "table": table, "value": value, "helper": None}
            )
        elif index is not None:
            fn = enclosing_function(call)
            for site in callers_in_file(pf, fn) if fn is not None else []:
                args = call_args(site)
                literal = string_value(args[index]) if index < len(args) else None
                if literal:
                    rows.append(
                        {
                            **base,
                            "line": line(site),
                            "table": table,
                            "value": literal,
                            "helper": function_name(fn),
                        }
                    )
    return sorted(rows, key=lambda r: r["line"])


# Handlers and their exits ------------------------------------------------------------------


def handlers(pf: ParsedFile) -> list[Node]:
    """Request handlers: functions given to `Deno.serve`/`serve`/`listen`, `fetch` methods."""
    found = []
    for call in pf.nodes("call_expression"):
        if call_property(call) in HANDLER_CALLS:
            for arg in call_args(call):
                fn = resolve_value(pf, arg)
                if fn is not None and fn.type in FUNCTION_TYPES:
                    found.append(fn)
    for method in pf.nodes("method_definition"):
        if text(method.child_by_field_name("name")) == "fetch":
            found.append(method)
    return found


def _statement(node: Node, stop: Node) -> Node:
    """The statement (child of a statement list) that holds `node`, inside `stop`."""
    current = node
    while current.parent is not None and current.parent != stop:
        if current.parent.type in STATEMENT_LISTS:
            return current
        current = current.parent
    return current


def _bound_names(stmt: Node) -> set[str]:
    names = set()
    for ident in _walk(stmt):
        parent = ident.parent
        if (
            ident.type in {"identifier", "shorthand_property_identifier_pattern"}
            and parent
            and (parent.type in {"variable_declarator", "pair_pattern", "object_pattern"})
        ):
            names.add(text(ident))
    return names


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.named_children:
        yield from _walk(child)


def _dominated(flow: StatusFlow, exit_node: Node, fn: Node, after: int) -> bool:
    """A final status is written by an unconditional statement on the way to `exit_node`."""
    if FINAL & flow.node_sets(exit_node):
        return True
    child = exit_node
    parent = exit_node.parent
    while parent is not None and child != fn:
        if parent.type in STATEMENT_LISTS:
            for stmt in parent.named_children:
                if stmt.start_byte >= child.start_byte:
                    break
                if (
                    stmt.start_byte > after
                    and stmt.type in UNCONDITIONAL
                    and (FINAL & flow.node_sets(stmt))
                ):
                    return True
        child, parent = parent, parent.parent
    return False


def _guarded_by(exit_node: Node, fn: Node, names: set[str]) -> bool:
    """The exit sits under an `if` testing the claim's own result (the claim did not take)."""
    node = exit_node.parent
    while node is not None and node != fn:
        if node.type == "if_statement":
            cond = node.child_by_field_name("condition")
            used = {text(n) for n in _walk(cond) if n.type == "identifier"} if cond else set()
            if used & names:
                return True
        node = node.parent
    return False


def _rescue(flow: StatusFlow, node: Node, fn: Node, throws: bool) -> str | None:
    """'catch' / 'finally' when an enclosing try writes a final status for this exit."""
    current = node
    while current.parent is not None and current != fn:
        parent = current.parent
        if parent.type == "catch_clause" and FINAL & flow.node_sets(parent):
            return "catch"  # an exit inside a catch that marks the order
        if parent.type == "try_statement" and current == parent.child_by_field_name("body"):
            handler = parent.child_by_field_name("handler")
            finalizer = parent.child_by_field_name("finalizer")
            if finalizer is not None and FINAL & flow.node_sets(finalizer):
                return "finally"
            if throws and handler is not None and FINAL & flow.node_sets(handler):
                return "catch"
        current = parent
    return None


def status_exits(pf: ParsedFile, flow: StatusFlow | None = None) -> list[dict]:
    """For handlers that move an order to an in-progress status: each later exit, and
    whether a final status ('provisioned'/'active'/'error') is written on its path."""
    flow = flow or StatusFlow(pf)
    rows = []
    for fn in handlers(pf):
        claims = [c for c in flow.calls if contains(fn, c) and IN_PROGRESS & flow.call_sets(c)]
        if not claims:
            continue
        claim = claims[0]
        stmt = _statement(claim, fn)
        names = _bound_names(stmt) if stmt.type in UNCONDITIONAL else set()
        base = {"path": pf.path, "function_slug": pf.function_slug, "claim_line": line(claim)}
        for exit_node in pf.nodes("return_statement", "throw_statement"):
            if exit_node.start_byte <= stmt.end_byte or not contains(fn, exit_node):
                continue
            if enclosing_function(exit_node) != fn or _guarded_by(exit_node, fn, names):
                continue
            throws = exit_node.type == "throw_statement"
            how = "dominated" if _dominated(flow, exit_node, fn, claim.start_byte) else None
            how = how or _rescue(flow, exit_node, fn, throws)
            rows.append(
                {
                    **base,
                    "line": line(exit_node),
                    "kind": "throw" if throws else "return",
                    "final_status_set": how is not None,
                    "how": how or "none",
                }
            )
        rescued = _rescue(flow, stmt, fn, throws=True)
        rows.append(
            {
                **base,
                "line": line(claim),
                "kind": "uncaught",
                "final_status_set": rescued is not None,
                "how": rescued or "none",
            }
        )
    return sorted(rows, key=lambda r: r["line"])


# What the webhook does on a paid checkout --------------------------------------------------


def _event_of_condition(pf: ParsedFile, cond: Node | None) -> list[str]:
    out = []
    for cmp in _walk(cond) if cond is not None else []:
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


def facts(pf: ParsedFile, is_webhook: bool) -> dict[str, list[dict]]:
    """Every flow table for one file viewed as part of one function."""
    flow = StatusFlow(pf)
    out = {
        "code_flow_status_writes": status_writes(pf, flow),
        "code_flow_status_exits": status_exits(pf, flow),
    }
    out["code_flow_webhook_actions"] = webhook_actions(pf) if is_webhook else []
    return out
