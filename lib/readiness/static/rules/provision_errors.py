"""What a function does when the provisioning it calls fails (issue 16, broken retries).

A provisioning call is `fetch(<…>/functions/v1/<slug>)` or `<client>.functions.invoke(slug)`
of a function named like provisioning (`servers-provision`, `deploy-server`, `fulfil…`), or
a call of an imported function so named (`provisionServer`). For each one reached from the
request handler (directly, through same-file helpers, or from an exported helper) the rule
records its failure path:

- `fire_and_forget`: not awaited, returned or chained: nobody sees its failure;
- `unchecked`: awaited, but the HTTP answer / `{ error }` is never tested (fetch and
  `functions.invoke` do not throw on a 500);
- `log_only` / `ignored` / `return_value`: tested, but the failure branch only logs, does
  nothing, or returns a plain value;
- `caught`: a try/catch or `.catch` around it that neither rethrows nor answers >= 400;
- `throw` / `respond` (with the status) / `propagates` (an imported call that may throw,
  with no catch of its own): the failure reaches the handler's answer.

Scheduled re-runs (`cron.schedule` whose command calls `/functions/v1/<slug>`) are recorded
apart, so a check can accept a hand-off whose retry lives elsewhere. Rules only record.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.follow import callers_in_file
from ..ts.responses import Responses
from ..ts.scope import trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    line,
    normalized,
    string_value,
    text,
    unwrap,
)
from .errors import _logs, handlers
from .webhook import url_text

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_provision_errors": {
        "path": S,
        "line": N,
        "function_slug": S,
        "kind": S,  # fetch | invoke | imported
        "target": S,  # the function slug, or the imported function's name
        "on_error": S,
        "status": N,  # the status answered on failure (respond), else NA
        "fail_line": N,  # where the failure is swallowed (the if / catch), else the call
    },
    "code_scheduled_calls": {"path": S, "line": N, "target": S},
}
FUNCTIONS_URL = re.compile(r"/functions/v1/([A-Za-z0-9_-]+)")
# a function that builds what was bought (an email or a log call may fail quietly)
PROVISION_NAME = re.compile(r"provision|fulfil|deploy|install|server|instance", re.IGNORECASE)
CRON = re.compile(r"cron\s*\.\s*schedule\s*\(", re.IGNORECASE)
WRAPPERS = {"parenthesized_expression", "non_null_expression", "as_expression"}


def _target(pf: ParsedFile, call: Node) -> tuple[str, str] | None:
    """(kind, target) when `call` hands work to provisioning."""
    chain, args = normalized(callee(call)), call_args(call)
    if chain == "fetch" and args:
        found = FUNCTIONS_URL.search(url_text(pf, args[0]))
        return ("fetch", found.group(1)) if found and PROVISION_NAME.search(found[1]) else None
    if chain.endswith("functions.invoke") and args:
        slug = string_value(args[0]) or url_text(pf, args[0])
        return ("invoke", slug) if slug and PROVISION_NAME.search(slug) else None
    fn = unwrap(callee(call))
    if fn is not None and fn.type == "identifier" and PROVISION_NAME.search(text(fn)):
        binding = trace(pf, text(fn), fn)
        if binding is not None and binding.kind == "import":
            return "imported", text(fn)
    return None


def _reached(pf: ParsedFile, node: Node, roots: list[Node], depth: int = 0) -> bool:
    """Does the handler run `node`: inside it (or a callback in it), in a same-file helper
    it calls, or in an exported function (another file calls it)?"""
    fn = enclosing_function(node)
    if fn is None or depth > 5:
        return False
    if any(fn == r or contains(r, fn) for r in roots):
        return True
    parent = fn.parent
    holder = parent.parent.parent if parent is not None and parent.parent is not None else None
    if parent is not None and parent.type == "export_statement":
        return True
    if parent is not None and parent.type == "variable_declarator" and holder is not None:
        return holder.type == "export_statement" or any(
            _reached(pf, site, roots, depth + 1) for site in callers_in_file(pf, fn)
        )
    return any(_reached(pf, site, roots, depth + 1) for site in callers_in_file(pf, fn))


def _via(pf: ParsedFile, node: Node, roots: list[Node], depth: int = 0) -> list[Node]:
    """Same-file call sites from the handler down to the helper that holds `node`."""
    fn = enclosing_function(node)
    if fn is None or depth > 5 or any(fn == r or contains(r, fn) for r in roots):
        return []
    sites = callers_in_file(pf, fn)
    return [sites[0], *_via(pf, sites[0], roots, depth + 1)] if sites else []


def _top(call: Node) -> Node:
    top = call
    while top.parent is not None and top.parent.type in WRAPPERS | {"await_expression"}:
        top = top.parent
    return top


def _catch_of(call: Node) -> Node | None:
    """The catch clause of the nearest try block enclosing the call (same function)."""
    fn = enclosing_function(call)
    current = call
    while current.parent is not None and current != fn:
        parent = current.parent
        if parent.type == "try_statement" and current == parent.child_by_field_name("body"):
            return parent.child_by_field_name("handler")
        current = parent
    return None


def _failure_branch(pf: ParsedFile, body: Node, responses: Responses) -> tuple[str, int | None]:
    """What a failure branch (an if's consequence, a catch body) does."""
    if any(contains(body, t) for t in pf.nodes("throw_statement")):
        return "throw", None
    for ret in pf.nodes("return_statement"):
        if contains(body, ret):
            value = ret.named_children[0] if ret.named_children else None
            got = responses.status_of(pf, value) if value is not None else None
            if got and got[0] is not None:
                return "respond", got[0]
            return "return_value", None
    return ("log_only" if _logs(pf, body) else "ignored"), None


def _settled(status: tuple[str, int | None]) -> bool:
    """Does the failure reach an error answer (or a throw)?"""
    kind, code = status
    return kind == "throw" or (kind == "respond" and code is not None and code >= 400)


def _checked(pf: ParsedFile, call: Node, top: Node, kind: str, responses: Responses) -> tuple:
    """(on_error, status, fail_line) from how the call's result is tested."""
    parent = top.parent
    if parent is not None and parent.type == "return_statement":
        return "returned", None, line(call)  # the caller gets the answer and decides
    if parent is None or parent.type != "variable_declarator":
        return ("propagates" if kind == "imported" else "unchecked"), None, line(call)
    pattern = parent.child_by_field_name("name")
    names = [text(pattern)]
    if pattern is not None and pattern.type == "object_pattern":
        names = [
            text(c.child_by_field_name("value")) if c.type == "pair_pattern" else text(c)
            for c in pattern.named_children
            if c.type in {"shorthand_property_identifier_pattern", "pair_pattern"}
        ]
        names = [n for n in names if n != "data"] or names
    scope = enclosing_function(top) or pf.root
    for stmt in pf.nodes("if_statement"):
        cond = stmt.child_by_field_name("condition")
        if not contains(scope, stmt) or stmt.start_byte < top.end_byte:
            continue
        words = set(re.findall(r"[A-Za-z_$][\w$]*", normalized(cond)))
        if not words & set(names):
            continue
        said = text(cond).lstrip("( ")
        negated = (
            said.startswith("!")
            or "error" in said.lower()
            or (pattern is not None and pattern.type == "object_pattern")  # `{ error }`
            or bool(re.search(r"status\s*(>=|>|!==|!=)", said))
        )
        branch = stmt.child_by_field_name("consequence" if negated else "alternative")
        if branch is None:  # `if (res.ok) {…}` with no else: a failure falls through
            return "ignored", None, line(stmt)
        on_error, status = _failure_branch(pf, branch, responses)
        return on_error, status, line(stmt)
    return ("propagates" if kind == "imported" else "unchecked"), None, line(call)


def _through(
    pf: ParsedFile, site: Node, on_error: str, status: int | None, fail_line: int, responses
) -> tuple[str, int | None, int]:
    """The failure as seen past one call site: a helper call nobody awaits, or a catch
    around the site that swallows what the helper throws."""
    if on_error in {"fire_and_forget", "caught"}:
        return on_error, status, fail_line
    top = _top(site)
    parent = top.parent
    if top == site and parent is not None and parent.type == "expression_statement":
        return "fire_and_forget", None, line(site)
    catch = _catch_of(site)
    if on_error in {"throw", "propagates"} and catch is not None:
        body = catch.child_by_field_name("body")
        if body is not None and not _settled(_failure_branch(pf, body, responses)):
            return "caught", None, line(catch)
    return on_error, status, fail_line


def provision_errors(pf: ParsedFile, responses: Responses) -> list[dict]:
    """One row per provisioning call the handler reaches: how its failure is handled."""
    roots = [fn for fn, _ in handlers(pf)]
    rows = []
    for call in pf.nodes("call_expression"):
        found = _target(pf, call)
        if found is None or not _reached(pf, call, roots):
            continue
        kind, target = found
        top = _top(call)
        parent = top.parent
        chained = parent is not None and parent.type == "member_expression"
        awaited = top != call or (parent is not None and parent.type == "return_statement")
        outer = parent.parent if chained and parent.parent is not None else None
        if chained and outer is not None and call_property(outer) == "catch":
            args = call_args(outer)
            body = unwrap(args[0]) if args else None
            body = body.child_by_field_name("body") if body is not None else None
            got = _failure_branch(pf, body, responses) if body is not None else ("ignored", None)
            on_error, status, fail_line = (
                ("caught", None, line(outer)) if not _settled(got) else (*got, line(outer))
            )
        elif not awaited and not chained:
            on_error, status, fail_line = "fire_and_forget", None, line(call)
        else:
            on_error, status, fail_line = _checked(pf, call, top, kind, responses)
        for site in [call, *_via(pf, call, roots)]:
            on_error, status, fail_line = _through(pf, site, on_error, status, fail_line, responses)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "kind": kind,
                "target": target,
                "on_error": on_error,
                "status": status,
                "fail_line": fail_line,
            }
        )
    return rows


def scheduled_calls(path: str, sql: str) -> list[dict]:
    """`cron.schedule(…)` jobs of a migration whose command calls an edge function."""
    rows = []
    for match in CRON.finditer(sql):
        end = sql.find(");", match.end())
        body = sql[match.end() : end if end > 0 else len(sql)]
        for target in FUNCTIONS_URL.findall(body):
            rows.append(
                {"path": path, "line": sql.count("\n", 0, match.start()) + 1, "target": target}
            )
    return rows
