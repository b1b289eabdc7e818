"""Purchase-flow facts from the code: whether provisioning leaves an order in an
in-progress status on some path, plus the entry point that gathers every flow table.

Rules read syntax trees (ts/syntax.py, ts/scope.py), so `if (x) return`, helpers such as
`markError(id)`, `try/catch/finally` and handler maps are all understood the same way
whatever the formatting. Status writes live in `status_flow.py` and webhook event
actions in `webhook.py`. Rules only record; checks (area 2) decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.scope import resolve_value
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    contains,
    enclosing_function,
    line,
    text,
    walk,
)
from .status_flow import StatusFlow, status_writes
from .webhook import webhook_actions

__all__ = ["StatusFlow", "facts", "handlers", "status_exits", "status_writes", "webhook_actions"]

IN_PROGRESS = frozenset({"provisioning", "installing"})
FINAL = frozenset({"provisioned", "active", "error"})
UNCONDITIONAL = frozenset({"expression_statement", "lexical_declaration", "variable_declaration"})
STATEMENT_LISTS = frozenset({"statement_block", "switch_case", "switch_default", "program"})
HANDLER_CALLS = frozenset({"serve", "listen"})


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
    for ident in walk(stmt):
        parent = ident.parent
        if (
            ident.type in {"identifier", "shorthand_property_identifier_pattern"}
            and parent
            and (parent.type in {"variable_declarator", "pair_pattern", "object_pattern"})
        ):
            names.add(text(ident))
    return names


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
            used = {text(n) for n in walk(cond) if n.type == "identifier"} if cond else set()
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


def facts(pf: ParsedFile, is_webhook: bool) -> dict[str, list[dict]]:
    """Every flow table for one file viewed as part of one function."""
    flow = StatusFlow(pf)
    out = {
        "code_flow_status_writes": status_writes(pf, flow),
        "code_flow_status_exits": status_exits(pf, flow),
    }
    out["code_flow_webhook_actions"] = webhook_actions(pf) if is_webhook else []
    return out
