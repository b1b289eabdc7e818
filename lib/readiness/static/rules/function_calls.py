"""Calls from code to edge functions with the body keys they send, and the request-body
keys each function reads (issue 16: a caller that sends `order_id` to a function that
requires `orderId` gets a 400 on every call, and a retry built that way never retries).

- `code_function_calls`: one row per call of an edge function: `fetch(<…>/functions/v1/<slug>,
  { body: JSON.stringify({...}) })`, `<client>.functions.invoke('<slug>', { body })`, and
  same-file wrappers such as `callFunction('slug', payload)`; from SQL (pg_cron commands,
  `net.http_post` in SQL functions) see `sql_calls.py`. `body_keys` is the comma-separated
  keys of a literal object body, "" for no body, NA when the body cannot be followed.
- `code_function_body_keys` (what each function reads and requires): `body_keys.py`.

Rules only record; ERR-PATH-CALL-BODY-KEYS judges.
"""

from __future__ import annotations

import json
import re

from tree_sitter import Node

from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    callee,
    enclosing_function,
    line,
    normalized,
    object_properties,
    property_value,
    string_value,
    text,
    unwrap,
)
from .body_keys import TABLES as _BODY_TABLES
from .webhook import PARAM, _trigger_target, callers_in_file

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_function_calls": {
        "path": S,
        "line": N,
        "caller": S,  # the calling function's slug, `sql:<schema.fn>`, `cron:<job>`, or a file
        "caller_kind": S,  # function | shared | frontend | server | script | sql | cron
        "target": S,
        "via": S,  # fetch | invoke | helper:<name> | net.http_post
        "body_keys": S,  # comma-separated; "" when no body is sent; NA when not followable
        "scheduled": B,  # a pg_cron job runs it (directly or through a SQL function)
    },
    **_BODY_TABLES,
}


# --- callers ------------------------------------------------------------------------------


def _object_keys(pf: ParsedFile, node: Node | None, depth: int = 0) -> list[str] | None:
    """Keys of the object a body expression holds; None when it cannot be followed."""
    node = unwrap(node)
    if node is None or depth > 6:
        return None
    if node.type == "call_expression" and normalized(callee(node)) == "JSON.stringify":
        args = call_args(node)
        return _object_keys(pf, args[0] if args else None, depth + 1)
    raw = string_value(node)
    if raw is not None:
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return sorted(value) if isinstance(value, dict) else None
    value = resolve_value(pf, node)
    if value is None or value.type != "object":
        return None
    keys = [k for k, _, _ in object_properties(value)]
    if any(k.startswith("*") for k in keys):
        return None  # a spread or a computed key: not a literal shape
    return sorted(keys)


def _param_index(pf: ParsedFile, node: Node | None, fn: Node) -> int | None:
    """Position of the parameter of `fn` that `node` is (through JSON.stringify)."""
    node = unwrap(node)
    if node is not None and node.type == "call_expression":
        if normalized(callee(node)) != "JSON.stringify" or not call_args(node):
            return None
        node = unwrap(call_args(node)[0])
    if node is None or node.type != "identifier":
        return None
    binding = trace(pf, text(node), node)
    if binding is None or binding.kind != "param" or binding.scope != fn:
        return None
    params = fn.child_by_field_name("parameters")
    names = (
        [text(p.child_by_field_name("pattern")) for p in params.named_children] if params else []
    )
    return names.index(text(node)) if text(node) in names else None


def _body_node(call: Node) -> tuple[bool, Node | None]:
    """(has a body, its expression) of a fetch / invoke call; (False, None) for none."""
    args = call_args(call)
    if len(args) < 2:
        return False, None
    return True, args[1]


def _sent_keys(pf: ParsedFile, call: Node, site: Node | None) -> str | None:
    """The keys a call sends, through the wrapper call `site` when the body is a
    parameter of the wrapper."""
    has_init, init = _body_node(call)
    if not has_init:
        return ""
    init_value = resolve_value(pf, init)
    if init_value is None or init_value.type != "object":
        return None
    body, _ = property_value(init_value, "body")
    if body is None:
        return ""
    fn = enclosing_function(call)
    index = _param_index(pf, body, fn) if site is not None and fn is not None else None
    if index is not None and site is not None:
        args = call_args(site)
        if index >= len(args):
            return ""
        keys = _object_keys(pf, args[index])
    else:
        keys = _object_keys(pf, body)
    return None if keys is None else ",".join(keys)


def function_calls(pf: ParsedFile, caller: str, caller_kind: str) -> list[dict]:
    """One row per edge-function call in the file (direct, or through a same-file wrapper
    whose slug and body are its parameters)."""
    rows = []
    for call in pf.nodes("call_expression"):
        target = _trigger_target(pf, call)
        if not target:
            continue
        via = "invoke" if normalized(callee(call)).endswith("functions.invoke") else "fetch"
        match = PARAM.fullmatch(target)
        if match is None:
            rows.append(
                _row(pf, call, caller, caller_kind, target, via, _sent_keys(pf, call, None))
            )
            continue
        fn = enclosing_function(call)
        for site in callers_in_file(pf, fn) if fn is not None else []:
            site_args = call_args(site)
            index = int(match.group(1))
            slug = string_value(site_args[index]) if index < len(site_args) else None
            if slug:
                name = normalized(callee(site))
                keys = _sent_keys(pf, call, site)
                rows.append(_row(pf, site, caller, caller_kind, slug, f"helper:{name}", keys))
    return rows


def _row(pf, node, caller, caller_kind, target, via, keys) -> dict:
    return {
        "path": pf.path,
        "line": line(node),
        "caller": caller,
        "caller_kind": caller_kind,
        "target": target,
        "via": via,
        "body_keys": keys,
        "scheduled": False,
    }


SCRIPT_DIR = re.compile(r"(^|/)(scripts?|bin|tools)/")


def caller_kind(path: str, kind: str | None) -> str | None:
    """How a file outside the functions calls them: frontend, server, or a script."""
    if kind in {"frontend", "server"}:
        return kind
    if kind == "other" and SCRIPT_DIR.search(path) and "supabase/functions/" not in path:
        return "script"
    return None
