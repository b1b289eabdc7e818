"""Frontend-integration facts (Area 8) from the TypeScript code, read with tree-sitter.

- redirect URLs (`success_url`, `cancel_url`, `return_url`, `emailRedirectTo`,
  `redirectTo`): where their origin comes from (env, literal, the request, the browser)
  and which route path they lead to;
- routes the frontend defines (`<Route path>`, `{ path: '/x' }` route objects, file-based
  `pages/` and `app/` folders);
- literal values the frontend sends or offers (plan ids, regions, terms, modpacks, games);
- sign-up functions that await the panel-account creation;
- Stripe keys in frontend code and frontend env files, by kind only (never the value).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from tree_sitter import Node

from ..ts.scope import trace
from ..ts.syntax import (
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
    string_value,
    text,
    unwrap,
)
from .redirect_guards import ENV_HINTS, REQUEST_HINTS, expand, source_line, validated

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_redirect_urls": {
        "path": S,
        "line": N,
        "function_slug": S,
        "key": S,
        "expr": S,
        "origin": S,
        "route": S,
        "validated": S,  # the allow-list test a request-sourced URL passes, None when none
        "source_line": N,  # where the request value is read (`await req.json()`, a header)
    },
    "code_frontend_routes": {"path": S, "line": N, "route": S, "style": S},
    "code_frontend_values": {"path": S, "line": N, "field": S, "value": S},
    "code_signup_flows": {
        "path": S,
        "line": N,
        "function": S,
        "awaits_panel": B,
        "panel_line": N,
    },
    "code_frontend_keys": {"path": S, "line": N, "kind": S},
}
REDIRECT_KEYS = frozenset(
    {"success_url", "cancel_url", "return_url", "emailRedirectTo", "redirectTo", "refresh_url"}
)
FIELDS = {
    "plan_id": "plan_id",
    "planId": "plan_id",
    "plan": "plan_id",
    "region": "region",
    "regionId": "region",
    "region_id": "region",
    "term": "term",
    "billingTerm": "term",
    "billing_term": "term",
    "modpack": "modpack",
    "modpackId": "modpack",
    "modpack_id": "modpack",
    "game": "game",
}
LIST_NAME = re.compile(r"(region|plan|term|modpack)", re.I)
ITEM_KEYS = ("id", "value", "slug", "key", "code")
STRIPE_KEY = re.compile(r"\b(pk|sk|rk)_(live|test)_[A-Za-z0-9]{8,}")
# `pk_test_xxxx…`: a placeholder (QUALITY-PLACEHOLDERS reports it), not a key
KEY_PLACEHOLDER = re.compile(r"^\w+?_(?:live|test)_\w*?(?:x{4,}|your|placeholder|example)", re.I)
PANEL_HINTS = re.compile(r"pterodactyl|panel", re.I)


def _origin(pf: ParsedFile, value: Node) -> str:
    expanded = expand(pf, value)
    if REQUEST_HINTS.search(expanded):
        return "request"
    if "window.location" in expanded or "location.origin" in expanded:
        return "browser"
    if ENV_HINTS.search(expanded):
        return "env"
    if string_value(value) is not None or _literal_template(pf, value):
        return "literal"
    return "unknown"


def _literal_template(pf: ParsedFile, value: Node, depth: int = 0) -> bool:
    """`${APP_URL}/success` where APP_URL is a string constant: a fixed origin."""
    value = unwrap(value)
    if value is None or value.type != "template_string" or depth > 3:
        return False
    for sub in value.named_children:
        if sub.type != "template_substitution":
            continue
        inner = sub.named_children[0] if sub.named_children else None
        if inner is not None and inner.type == "identifier":
            binding = trace(pf, text(inner), inner)
            target = unwrap(binding.value) if binding is not None else None
            if target is None or binding is None or binding.key_path:
                return False
            if string_value(target) is None and not _literal_template(pf, target, depth + 1):
                return False
        elif sub is value.named_children[0] or not _after_origin(value, sub):
            return False  # an id after the path (`/x/${order.id}`) does not move the origin
    return True


def _after_origin(template: Node, sub: Node) -> bool:
    """The substitution comes after a fragment holding the path (`…/x/${id}`)."""
    before = text(template)[: sub.start_byte - template.start_byte]
    return "/" in before.split("://", 1)[-1] or before.startswith("`/")


def _route(value: Node) -> str | None:
    value = unwrap(value)
    if value is None:
        return None
    literal = string_value(value)
    if literal is not None:
        return urlsplit(literal).path or None
    if value.type == "template_string":
        parts = value.named_children
        for i, frag in enumerate(parts):
            if frag.type == "string_fragment":
                part = text(frag)
                if part.startswith("/") or "://" in part:
                    path = (
                        re.split(r"[?#]", part)[0] if part.startswith("/") else urlsplit(part).path
                    )
                    # `/booking/${id}`: the substitution is a path segment of the route
                    if path.endswith("/") and i + 1 < len(parts) and "?" not in part:
                        path += ":param"
                    return path or ("/" if part.startswith("/") else None)
    if value.type == "binary_expression":
        return _route(value.child_by_field_name("right"))
    return None


def redirect_urls(pf: ParsedFile) -> list[dict]:
    rows = []
    for pair in pf.nodes("pair"):
        key_node = pair.child_by_field_name("key")
        key = string_value(key_node) if key_node.type == "string" else text(key_node)
        value = pair.child_by_field_name("value")
        if key not in REDIRECT_KEYS or value is None:
            continue
        rows.append(
            {
                "path": pf.path,
                "line": line(pair),
                "function_slug": pf.function_slug,
                "key": key,
                "expr": text(value)[:200],
                "origin": _origin(pf, value),
                "route": _route(value),
                "validated": validated(pf, pair, value),
                "source_line": source_line(pf, value),
            }
        )
    return rows


def routes(pf: ParsedFile) -> list[dict]:
    rows = []
    for attr in pf.nodes("jsx_attribute"):
        parts = attr.named_children
        element = attr.parent
        name = element.child_by_field_name("name") if element is not None else None
        if len(parts) == 2 and text(parts[0]) == "path" and "Route" in text(name):
            route = string_value(parts[1])
            if route is not None:
                rows.append({"path": pf.path, "line": line(attr), "route": route, "style": "jsx"})
    for pair in pf.nodes("pair"):
        if text(pair.child_by_field_name("key")) != "path":
            continue
        route = string_value(pair.child_by_field_name("value"))
        if route is not None and (route.startswith("/") or route == "*" or route == ""):
            rows.append({"path": pf.path, "line": line(pair), "route": route, "style": "object"})
    return rows


def file_route(path: str) -> str | None:
    """Route of a file-based router page: `pages/a/b.tsx` → /a/b, `app/a/page.tsx` → /a."""
    parts = PurePosixPath(path).parts
    for folder in ("pages", "app", "routes"):
        if folder in parts:
            rest = list(parts[parts.index(folder) + 1 :])
            stem = PurePosixPath(rest[-1]).stem
            if folder == "app" and stem != "page":
                return None
            rest[-1] = "" if stem in {"index", "page", "_index", "+page"} else stem
            return "/" + "/".join(p for p in rest if p and not p.startswith("_")).rstrip("/")
    return None


MOCK_PATH = re.compile(
    r"(^|[/._-])(mocks?|fixtures?|stubs?|samples?|demo|seed|__mocks__)([/._-]|$)", re.I
)


def _returned(pair: Node) -> bool:
    """The object is a value a function returns (mock data, a stub's response), not a
    value the frontend sends."""
    node = pair.parent
    while node is not None:
        if node.type == "return_statement":
            return True
        if node.type == "arrow_function":
            body = node.child_by_field_name("body")
            return body is not None and body.type != "statement_block" and contains(body, pair)
        if node.type in {"call_expression", "function_declaration", "method_definition"}:
            return False  # an argument (sent) or a function boundary
        node = node.parent
    return False


def frontend_values(pf: ParsedFile) -> list[dict]:
    rows = []
    if MOCK_PATH.search(pf.path):
        return rows
    for pair in pf.nodes("pair"):
        key = text(pair.child_by_field_name("key")).strip("'\"")
        value = string_value(pair.child_by_field_name("value"))
        if key in FIELDS and value and not _returned(pair):
            rows.append({"path": pf.path, "line": line(pair), "field": FIELDS[key], "value": value})
    for decl in pf.nodes("variable_declarator"):
        name = text(decl.child_by_field_name("name"))
        value = unwrap(decl.child_by_field_name("value"))
        match = LIST_NAME.search(name)
        if not match or value is None or value.type != "array":
            continue
        field = {"plan": "plan_id"}.get(match.group(1).lower(), match.group(1).lower())
        for el in value.named_children:
            literal = string_value(el)
            if literal is None and el.type == "object":
                for key, val, _ in object_properties(el):
                    if key in ITEM_KEYS and string_value(val) is not None:
                        literal = string_value(val)
                        break
            if literal:
                rows.append({"path": pf.path, "line": line(el), "field": field, "value": literal})
    return rows


def _is_panel_call(call: Node) -> bool:
    chain = normalized(callee(call))
    args = call_args(call)
    first = string_value(args[0]) if args else None
    if chain.endswith("functions.invoke") or call_property(call) == "fetch":
        return bool(first and PANEL_HINTS.search(first)) or bool(
            args and PANEL_HINTS.search(text(args[0]))
        )
    name = call_property(call) or ""
    return bool(PANEL_HINTS.search(name)) and "create" in name.lower()


def signup_flows(pf: ParsedFile) -> list[dict]:
    """Functions that call `auth.signUp`, and whether they await panel-account creation."""
    rows = []
    for call in pf.nodes("call_expression"):
        if not normalized(callee(call)).endswith("auth.signUp"):
            continue
        fn = enclosing_function(call)
        scope = fn if fn is not None else pf.root
        blocking = None
        for other in pf.nodes("call_expression"):
            if not contains(scope, other) or other == call or not _is_panel_call(other):
                continue
            if enclosing_function(other) != fn:
                continue  # a callback (e.g. .then) does not block sign-up
            parent = other.parent
            while parent is not None and parent.type in {"member_expression", "call_expression"}:
                parent = parent.parent
            if parent is not None and parent.type == "await_expression":
                blocking = other
                break
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function": (function_name(fn) if fn is not None else None) or "(module)",
                "awaits_panel": blocking is not None,
                "panel_line": line(blocking) if blocking is not None else None,
            }
        )
    return rows


def key_kinds(path: str, text_value: str, first_line: int = 1) -> list[dict]:
    """Stripe key kinds in a text (kind and line only — values are never kept)."""
    rows = []
    for number, raw in enumerate(text_value.splitlines(), start=first_line):
        for m in STRIPE_KEY.finditer(raw):
            if KEY_PLACEHOLDER.match(m.group(0)):
                continue
            rows.append({"path": path, "line": number, "kind": f"{m.group(1)}_{m.group(2)}"})
    return rows


def frontend_keys(pf: ParsedFile) -> list[dict]:
    rows = []
    for node in pf.nodes("string", "template_string"):
        rows += key_kinds(pf.path, text(node), line(node))
    return rows
