"""Where the code suspends (or deletes) panel servers, and what a Stripe webhook does when
a subscription ends (issue 16, subscription lifecycle).

A cancelled or unpaid subscription must stop the game server: the webhook suspends it on
the panel (`POST /api/application/servers/{id}/suspend`, or deletes it), directly, through
a same-file helper, or through another function it calls; or it marks the order so that a
job which suspends marked orders picks it up. Marking the row alone, with nothing that
ever suspends, leaves the server running for free. Rules only record:
FLOW-SUBSCRIPTION-END-SUSPEND (area 2) decides.

- `code_panel_suspends`: one row per panel call that suspends, unsuspends or deletes a
  server (a URL under `/api/application/servers/…`, or a client's `suspendServer()`).
- `code_flow_subscription_ends`: one row per action run on a subscription-end event:
  a status write (`write`, its value), a panel suspension (`suspend`, through `helper`)
  or a call to another function (`call`, its slug).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import callers_in_file
from ..ts.scope import local_function, resolve_value
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    enclosing_function,
    function_name,
    line,
    normalized,
    property_value,
    string_value,
    text,
    unwrap,
    walk,
)
from .hooks import EMPTY_INDEX, FunctionIndex
from .status_flow import StatusFlow, _status_nodes
from .webhook import _triggers, event_context, url_text

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_panel_suspends": {
        "path": S,
        "line": N,
        "function_slug": S,
        "kind": S,  # suspend | unsuspend | delete
        "helper": S,  # the same-file function that holds the call, None at top level
    },
    "code_flow_subscription_ends": {
        "path": S,
        "line": N,
        "function_slug": S,
        "event": S,
        "action": S,  # write | suspend | call
        "value": S,  # the status written, the suspension kind, or the called slug
        "table": S,
        "helper": S,  # the same-file helper the action runs in or through
    },
}

DELETED = "customer.subscription.deleted"
UPDATED = "customer.subscription.updated"
PAYMENT_FAILED = "invoice.payment_failed"
END_EVENTS = frozenset({DELETED, UPDATED, PAYMENT_FAILED})
# statuses that say the service stopped (a write of one under `updated` is an end branch)
ENDED = frozenset(
    {"canceled", "cancelled", "suspended", "unpaid", "past_due", "expired", "terminated"}
    | {"inactive", "ended", "deleted", "lapsed", "overdue", "payment_failed"}
)
SERVER_URL = re.compile(r"/api/application/servers/(?!external/)[^/?#\s]+(?P<tail>/[a-z]+)?/?$")
CLIENT_METHOD = re.compile(r"^(?P<kind>suspend|unsuspend|delete)(?:Server|_server)$", re.I)
PANEL_OBJECT = re.compile(r"ptero|panel|pelican|server|application", re.I)
# a path a panel helper prefixes with /api/application: `ptero(`/servers/${id}/suspend`)`
HELPER_SERVER_URL = re.compile(r"^/servers/(?!external/)[^/?#\s]+(?P<tail>/[a-z]+)?/?$")


def _method(pf: ParsedFile, call: Node) -> str | None:
    """The HTTP method of a fetch-like call: `{ method: 'DELETE' }`, a literal argument
    such as `panel('DELETE', url)`, or an `axios.delete(url)` property."""
    prop = call_property(call)
    if prop in {"delete", "post", "put", "patch", "get"} and prop != normalized(callee(call)):
        return prop.upper()
    for arg in call_args(call):
        value = string_value(arg)
        if value is not None and value.upper() in {"DELETE", "POST", "PATCH", "PUT"}:
            return value.upper()
        obj = resolve_value(pf, arg)
        if obj is not None and obj.type == "object":
            method, _ = property_value(obj, "method")
            if string_value(method):
                return str(string_value(method)).upper()
    return None


def suspend_kind(pf: ParsedFile, call: Node) -> str | None:
    """suspend / unsuspend / delete when `call` does that to a panel server."""
    prop = call_property(call) or ""
    match = CLIENT_METHOD.match(prop)
    fn = unwrap(callee(call))
    if match and fn is not None and fn.type == "member_expression":  # noqa: SIM102
        if PANEL_OBJECT.search(text(fn.child_by_field_name("object"))):
            return match.group("kind").lower()
    for arg in call_args(call)[:2]:
        if unwrap(arg) is None or unwrap(arg).type in {"object", "arrow_function"}:
            continue
        raw = url_text(pf, arg).split("?")[0]
        url = SERVER_URL.search(raw)
        if url is None and fn is not None and PANEL_OBJECT.search(text(fn)):
            url = HELPER_SERVER_URL.search(raw)
        if url is None:
            continue
        tail = url.group("tail")
        if tail in {"/suspend", "/unsuspend"}:
            return tail[1:]
        if tail in {None, "/force"} and _method(pf, call) == "DELETE":
            return "delete"
    return None


def panel_suspends(pf: ParsedFile) -> list[dict]:
    """Every call that suspends, unsuspends or deletes a panel server."""
    rows = []
    for call in pf.nodes("call_expression"):
        kind = suspend_kind(pf, call)
        if kind is not None:
            fn = enclosing_function(call)
            rows.append(
                {
                    "path": pf.path,
                    "line": line(call),
                    "function_slug": pf.function_slug,
                    "kind": kind,
                    "helper": function_name(fn) if fn is not None else None,
                }
            )
    return rows


def _ends(pf: ParsedFile, node: Node) -> list[str]:
    return sorted(e for e in event_context(pf, node) if e in END_EVENTS)


def _writes(
    pf: ParsedFile, flow: StatusFlow
) -> list[tuple[Node, str | None, str | None, str | None]]:
    """(where, table, literal status, helper) of every status write; a helper's write of a
    parameter is reported at each call site with the literal passed."""
    found = []
    for call, table, resolved, index in flow.writes:
        if index is None:
            values = [string_value(v) for v in _status_nodes(pf, call)] or [None]
            for value in values:
                found.append((call, table, value or resolved, None))
            continue
        fn = enclosing_function(call)
        for site in callers_in_file(pf, fn) if fn is not None else []:
            args = call_args(site)
            if index < len(args):
                found.append((site, table, string_value(args[index]), function_name(fn)))
    return found


def _suspending(
    pf: ParsedFile, call: Node, index: FunctionIndex = EMPTY_INDEX, stack: tuple = ()
) -> tuple[str, str | None] | None:
    """(kind, helper) of the suspension a call performs, itself or inside the function it
    calls — same file first, else a helper of that name in another file (the shared
    `_shared/pterodactyl.ts` idiom), followed a few levels."""
    kind = suspend_kind(pf, call)
    if kind is not None:
        return kind, None
    if len(stack) > 4:
        return None
    for other, fn in index.find(pf, call) or [
        (pf, f) for f in [local_function(pf, call)] if f is not None
    ]:
        key = (other.path, fn.start_byte)
        if key in stack:
            continue
        for inner in walk(fn):
            if inner.type == "call_expression":
                found = _suspending(other, inner, index, stack + (key,))
                if found is not None and found[0] in {"suspend", "delete"}:
                    return found[0], function_name(fn)
    return None


def subscription_ends(
    pf: ParsedFile, flow: StatusFlow | None = None, index: FunctionIndex = EMPTY_INDEX
) -> list[dict]:
    """What runs on customer.subscription.deleted, invoice.payment_failed and (for writes
    of an ended status, and suspensions) customer.subscription.updated."""
    flow = flow or StatusFlow(pf)
    base = {"path": pf.path, "function_slug": pf.function_slug}
    rows: list[dict] = []
    for where, table, value, helper in _writes(pf, flow):
        for event in _ends(pf, where):
            if event == UPDATED and (value or "").lower() not in ENDED:
                continue  # a renewal or plan change on `updated`: not an end
            rows.append(
                {**base, "line": line(where), "event": event, "action": "write"}
                | {"value": value, "table": table, "helper": helper}
            )
    for call in pf.nodes("call_expression"):
        found = _suspending(pf, call, index)
        if found is None or found[0] not in {"suspend", "delete"}:
            continue
        kind, helper = found
        if helper is None:  # the call itself suspends: name the function it sits in
            fn = enclosing_function(call)
            helper = function_name(fn) if fn is not None else None
        for event in _ends(pf, call):
            rows.append(
                {**base, "line": line(call), "event": event, "action": "suspend"}
                | {"value": kind, "table": None, "helper": helper}
            )
    for site, slug in _triggers(pf):
        for event in _ends(pf, site):
            rows.append(
                {**base, "line": line(site), "event": event, "action": "call"}
                | {"value": slug, "table": None, "helper": None}
            )
    unique = {(r["line"], r["event"], r["action"], r["value"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["line"], r["event"], r["action"]))
