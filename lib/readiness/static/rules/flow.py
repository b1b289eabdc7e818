"""Purchase-flow facts from the code: whether provisioning leaves an order in an
in-progress status on some path, plus the entry point that gathers every flow table.

Rules read syntax trees (ts/syntax.py, ts/scope.py), so `if (x) return`, helpers such as
`markError(id)`, `try/catch/finally` and handler maps are all understood the same way
whatever the formatting. Status writes live in `status_flow.py` and webhook event
actions in `webhook.py`. Rules only record; checks (area 2) decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import query_table
from ..ts.scope import resolve_value
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing,
    enclosing_function,
    line,
    normalized,
    text,
    unwrap,
    walk,
)
from .status_flow import StatusFlow, status_writes
from .subscription_status import subscription_updates
from .webhook import webhook_actions

__all__ = [
    "StatusFlow",
    "facts",
    "handlers",
    "status_exits",
    "status_writes",
    "subscription_updates",
    "webhook_actions",
]

IN_PROGRESS = frozenset({"provisioning", "installing"})
# statuses that end provisioning: delivered (a game server 'active', a VPS 'running') or
# failed; any of them means the row is no longer stuck in its in-progress status
FINAL = frozenset(
    {"provisioned", "active", "running", "ready", "online", "deployed", "completed"}
    | {"error", "failed", "provision_failed", "provisioning_failed"}
)
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
                if fn is not None and fn.type == "call_expression":  # serve(withCors(handler))
                    wrapped = [resolve_value(pf, a) for a in call_args(fn)]
                    fn = next(
                        (w for w in wrapped if w is not None and w.type in FUNCTION_TYPES), None
                    )
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


BENIGN_ROOTS = frozenset({"console", "JSON", "Math", "Date", "Object", "Array", "Number", "String"})
BENIGN_METHODS = frozenset(
    {"toISOString", "toLowerCase", "toUpperCase", "replace", "trim", "split", "join", "map"}
    | {"filter", "toString", "toFixed", "padStart", "slice", "includes", "push", "getTime"}
)


def _may_throw(call: Node) -> bool:
    """Could this call throw? Supabase queries answer `{ error }` instead; string, array,
    JSON, Math and console helpers do not; anything else (fetch, SDKs, helpers) may."""
    is_query = query_table(call)[0] or query_table(unwrap(callee(call)))[0]
    chain = normalized(callee(call))
    if is_query or chain.split(".")[0] in BENIGN_ROOTS:
        return False
    return call_property(call) not in BENIGN_METHODS


def _only_claim_failure_reaches_catch(
    pf: ParsedFile, claim: Node, stmt: Node, fn: Node, names: set[str]
) -> Node | None:
    """The try around an insert-claim, when its catch can only be reached because the
    claim itself failed (so no row exists to be stuck): every later throw tests the
    claim's own result and no later call can throw."""
    if call_property(claim) not in {"insert", "upsert"}:
        return None
    try_stmt = enclosing(stmt, {"try_statement"})
    body = try_stmt.child_by_field_name("body") if try_stmt is not None else None
    if body is None or not contains(body, stmt) or not contains(fn, try_stmt):
        return None
    after = [n for n in pf.nodes("throw_statement", "call_expression") if contains(body, n)]
    after = [n for n in after if n.start_byte > stmt.end_byte and enclosing_function(n) == fn]
    for node in after:
        if node.type == "throw_statement" and not _guarded_by(node, fn, names):
            return None
        if node.type == "call_expression" and _may_throw(node):
            return None
    return try_stmt


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
        only_failed = _only_claim_failure_reaches_catch(pf, claim, stmt, fn, names)
        handler = only_failed.child_by_field_name("handler") if only_failed else None
        for exit_node in pf.nodes("return_statement", "throw_statement"):
            if exit_node.start_byte <= stmt.end_byte or not contains(fn, exit_node):
                continue
            if enclosing_function(exit_node) != fn or _guarded_by(exit_node, fn, names):
                continue
            throws = exit_node.type == "throw_statement"
            how = "dominated" if _dominated(flow, exit_node, fn, claim.start_byte) else None
            how = how or _rescue(flow, exit_node, fn, throws)
            if how is None and handler is not None and contains(handler, exit_node):
                how = "claim_failed"  # reached only when the claiming insert failed
            rows.append(
                {
                    **base,
                    "line": line(exit_node),
                    "kind": "throw" if throws else "return",
                    "final_status_set": how is not None,
                    "how": how or "none",
                }
            )
        rescued = _rescue(flow, stmt, fn, throws=True) or ("claim_failed" if handler else None)
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
    out["code_flow_subscription_updates"] = subscription_updates(pf, flow) if is_webhook else []
    return out
