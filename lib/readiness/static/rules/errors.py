"""Error-handling facts from the TypeScript code (tree-sitter), for Areas 2, 5, 6.

- each catch (try/catch and `.catch(fn)`): empty, logs, rethrows, returns, sets UI state,
  the HTTP status it answers;
- each handler (`Deno.serve`, `serve`, `export default`): wrapped in try/catch or not,
  what its catch answers and which statuses it writes;
- what happens when a database write fails (`{ error }` thrown, returned, only logged,
  or ignored).
Status writes and query filters live in `status.py`, response statuses in
`ts/responses.py`. Rules only record; checks decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import query_table, side_effect_kind
from ..ts.responses import Responses
from ..ts.scope import local_function, resolve_value
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    line,
    normalized,
    object_properties,
    text,
    unwrap,
)
from . import hooks
from .hooks import EMPTY_INDEX, FunctionIndex, checkout_context, only_logs
from .status import WRITES

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_catches": {
        "path": S,
        "line": N,
        "function_slug": S,
        "style": S,
        "empty": B,
        "logs": B,
        "rethrows": B,
        "returns": B,
        "sets_state": B,
        "status": N,
        "json": B,
        # for FE-HOOK-ERRORS (rules/hooks.py): does nothing but log; what puts it on the
        # checkout path; a helper it guards already showed the error to the user
        "only_logs": B,
        "checkout_via": S,
        "callee_surfaced": B,
        # deliberate ignores (ERR-EMPTY-CATCH / ERR-CATCH-LOGS): a comment in the catch, a
        # known idiom, a body-parse fallback, a helper called in the catch that logs
        "commented": B,
        "idiom": S,
        "parse_fallback": B,
        "logs_via_helper": B,
        "guards_async": B,
    },
    "code_handlers": {
        "path": S,
        "line": N,
        "function_slug": S,
        "style": S,
        "has_try": B,
        "catch_line": N,
        "catch_logs": B,
        "catch_status": N,
        "catch_json": B,
        "catch_writes_status": S,
        "catch_rethrows": B,  # the catch throws again: the runtime (or a wrapper) answers 500
    },
    "code_write_errors": {
        "path": S,
        "line": N,
        "function_slug": S,
        "table": S,
        "method": S,
        "on_error": S,
        "status": N,
    },
}
LOG_NAMES = frozenset({"log", "error", "warn", "info", "debug", "captureException", "report"})
STATE_HINTS = ("toast", "alert", "notify", "showError", "reject", "setError", "throw")


# --- catches and handlers -----------------------------------------------------------------


def _catch_body(node: Node) -> Node | None:
    if node.type == "catch_clause":
        return node.child_by_field_name("body")
    fn = unwrap(node)
    return fn.child_by_field_name("body") if fn is not None else None


def _calls_in(pf: ParsedFile, scope: Node) -> list[Node]:
    return [c for c in pf.nodes("call_expression") if contains(scope, c)]


def _logs(pf: ParsedFile, scope: Node) -> bool:
    for c in _calls_in(pf, scope):
        chain = normalized(callee(c))
        if chain.startswith("console.") or call_property(c) in LOG_NAMES:
            return True
    return False


def _guarded(node: Node, style: str) -> Node | None:
    """The code a catch guards: the try block, or the promise chain before `.catch`."""
    if style == "try":
        parent = node.parent
        return parent.child_by_field_name("body") if parent is not None else None
    fn = node.child_by_field_name("function")
    return fn.child_by_field_name("object") if fn is not None else None


def catch_facts(
    pf: ParsedFile, responses: Responses, index: FunctionIndex = EMPTY_INDEX
) -> list[dict]:
    """Every try/catch clause and `.catch(fn)` handler in the file."""
    rows = []
    targets: list[tuple[Node, Node | None, str]] = [
        (c, _catch_body(c), "try") for c in pf.nodes("catch_clause")
    ]
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if call_property(call) == "catch" and args:
            fn = unwrap(args[0])
            if fn is not None and fn.type in FUNCTION_TYPES:
                targets.append((call, _catch_body(fn), "promise"))
    for node, body, style in targets:
        if body is None:
            continue
        named = [c for c in body.named_children if c.type != "comment"]
        empty = body.type == "statement_block" and not named
        status, is_json = None, None
        for ret in pf.nodes("return_statement"):
            if contains(body, ret) and ret.named_children:
                got = responses.status_of(pf, ret.named_children[0])
                if got is not None:
                    status, is_json = got
        if body.type != "statement_block":  # `.catch((e) => expr)`
            got = responses.status_of(pf, body)
            if got is not None:
                status, is_json = got
        calls = _calls_in(pf, body)
        guarded = _guarded(node, style)
        via, callee_surfaced = checkout_context(pf, guarded, node, index)
        rows.append(
            {
                "path": pf.path,
                "line": line(node),
                "function_slug": pf.function_slug,
                "style": style,
                "empty": empty,
                "logs": _logs(pf, body),
                "rethrows": any(contains(body, t) for t in pf.nodes("throw_statement")),
                "returns": any(contains(body, r) for r in pf.nodes("return_statement"))
                or body.type != "statement_block",
                "sets_state": any(
                    any(h.lower() in normalized(callee(c)).lower() for h in STATE_HINTS)
                    or text(unwrap(callee(c)))[:3] == "set"
                    and text(unwrap(callee(c)))[3:4].isupper()
                    for c in calls
                ),
                "status": status,
                "json": is_json,
                "only_logs": only_logs(pf, body),
                "checkout_via": via,
                "callee_surfaced": callee_surfaced,
                "commented": hooks.commented(body),
                "idiom": hooks.idiom(guarded),
                "parse_fallback": hooks.parse_fallback(pf, guarded),
                "logs_via_helper": hooks.logs_via_helper(pf, body, index),
                "guards_async": hooks.guards_async(pf, guarded, style),
            }
        )
    return rows


def handlers(pf: ParsedFile) -> list[tuple[Node, str]]:
    """Request handlers: `Deno.serve(fn)`, `serve(fn)`, `export default fn | { fetch }`."""
    found: list[tuple[Node, str]] = []
    for call in pf.nodes("call_expression"):
        if call_property(call) != "serve":
            continue
        for arg in call_args(call):
            fn = resolve_value(pf, arg)
            if fn is not None and fn.type in FUNCTION_TYPES:
                found.append((fn, normalized(callee(call))))
            elif fn is not None and fn.type == "call_expression":  # serve(withCors(handler))
                for inner in call_args(fn):
                    inner_fn = resolve_value(pf, inner)
                    if inner_fn is not None and inner_fn.type in FUNCTION_TYPES:
                        found.append((inner_fn, f"{normalized(callee(call))}(wrapped)"))
    for stmt in pf.nodes("export_statement"):
        if not any(c.type == "default" for c in stmt.children):
            continue
        for child in stmt.named_children:
            value = resolve_value(pf, child) if child.type == "identifier" else unwrap(child)
            if value is None:
                continue
            if value.type in FUNCTION_TYPES or value.type == "function_declaration":
                found.append((value, "export default"))
            elif value.type == "object":
                for key, val, prop in object_properties(value):
                    if key == "fetch":
                        fn = (
                            unwrap(val)
                            if val is not None and val.type != "method_definition"
                            else prop
                        )
                        found.append((fn, "export default fetch"))
    return found


def handler_facts(pf: ParsedFile, responses: Responses, status_rows: list[dict]) -> list[dict]:
    rows = []
    for fn, style in handlers(pf):
        body = fn.child_by_field_name("body")
        tries = [
            t
            for t in pf.nodes("try_statement")
            if body is not None
            and t.parent == body
            and t.child_by_field_name("handler")
            # `try { body = await req.json() } catch {}` parses the body; it guards nothing else
            and not hooks.parse_fallback(pf, t.child_by_field_name("body"))
        ]
        main = max(tries, key=lambda t: t.end_byte - t.start_byte) if tries else None
        catch = main.child_by_field_name("handler") if main is not None else None
        cbody = _catch_body(catch) if catch is not None else None
        status, is_json = None, None
        written: set[str] = set()
        if cbody is not None:
            for ret in pf.nodes("return_statement"):
                if contains(cbody, ret) and ret.named_children:
                    got = responses.status_of(pf, ret.named_children[0])
                    if got is not None:
                        status, is_json = got
            written = _statuses_reached(pf, cbody, status_rows)
        rows.append(
            {
                "path": pf.path,
                "line": line(fn),
                "function_slug": pf.function_slug,
                "style": style,
                "has_try": main is not None,
                "catch_line": line(catch) if catch is not None else None,
                "catch_logs": _logs(pf, cbody) if cbody is not None else None,
                "catch_status": status,
                "catch_json": is_json,
                "catch_writes_status": ",".join(sorted(written)) or None,
                "catch_rethrows": (
                    any(contains(cbody, t) for t in pf.nodes("throw_statement"))
                    if cbody is not None
                    else None
                ),
            }
        )
    return rows


def _statuses_reached(
    pf: ParsedFile, scope: Node, status_rows: list[dict], depth: int = 0
) -> set[str]:
    """Status values written inside `scope` or by same-file functions it calls."""
    lines = range(scope.start_point.row + 1, scope.end_point.row + 2)
    found = {r["value"] for r in status_rows if r["path"] == pf.path and r["line"] in lines}
    if depth < 3:
        for call in _calls_in(pf, scope):
            fn = local_function(pf, call)
            if fn is not None and not contains(fn, scope):
                found |= _statuses_reached(pf, fn, status_rows, depth + 1)
    return found


# --- failed writes ------------------------------------------------------------------------


def write_errors(pf: ParsedFile, responses: Responses) -> list[dict]:
    """For each insert/upsert/update: what the code does when the database says no."""
    rows = []
    for call in pf.nodes("call_expression"):
        method = call_property(call)
        if method not in WRITES or side_effect_kind(call) != "db_write":
            continue
        _, table = query_table(callee(call))
        top = call
        while top.parent is not None and top.parent.type in {
            "member_expression",
            "call_expression",
            "await_expression",
            "parenthesized_expression",
            "non_null_expression",
            "as_expression",
        }:
            top = top.parent
        on_error, status = _error_path(pf, top, responses)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "table": table,
                "method": method,
                "on_error": on_error,
                "status": status,
            }
        )
    return rows


def _error_path(pf: ParsedFile, top: Node, responses: Responses) -> tuple[str, int | None]:
    parent = top.parent
    if parent is None or parent.type != "variable_declarator":
        return (
            "returned" if parent is not None and parent.type == "return_statement" else "ignored"
        ), None
    pattern = parent.child_by_field_name("name")
    names = []
    if pattern is not None and pattern.type == "object_pattern":
        for child in pattern.named_children:
            if child.type == "shorthand_property_identifier_pattern" and text(child) == "error":
                names.append("error")
            elif child.type == "pair_pattern" and text(child.child_by_field_name("key")) == "error":
                names.append(text(child.child_by_field_name("value")))
    elif pattern is not None and pattern.type == "identifier":
        names.append(f"{text(pattern)}.error")
    if not names:
        return "ignored", None
    fn = enclosing_function(top) or pf.root
    for stmt in pf.nodes("if_statement"):
        cond = stmt.child_by_field_name("condition")
        if not contains(fn, stmt) or stmt.start_byte < top.end_byte:
            continue
        if not any(n in normalized(cond) for n in names):
            continue
        cons = stmt.child_by_field_name("consequence")
        if any(contains(cons, t) for t in pf.nodes("throw_statement")):
            return "throw", None
        for ret in pf.nodes("return_statement"):
            if contains(cons, ret):
                got = responses.status_of(pf, ret.named_children[0]) if ret.named_children else None
                return ("respond", got[0]) if got else ("return_value", None)
        return "log_only" if _logs(pf, cons) else "ignored", None
    return "ignored", None
