"""Where a redirect URL comes from and whether it is checked before use (FE-REDIRECT-ORIGIN,
issue 16): the text an expression expands to through its bindings, the line the request
value is read, and the allow-list tests that validate a URL the request sends (a list
lookup or a comparison with a fixed site, in a guard that always runs)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tree_sitter import Node

from ..ts.scope import trace
from ..ts.syntax import (
    ParsedFile,
    contains,
    enclosing_function,
    line,
    string_value,
    text,
    unwrap,
    walk,
)

REQUEST_HINTS = re.compile(
    r"headers\.get\(\s*['\"`](origin|referer|host|x-forwarded-host)['\"`]|\b(req|request)\.url\b"
    r"|\b(req|request)\.json\(",  # a URL the caller sends in the body
    re.I,
)
ENV_HINTS = re.compile(r"Deno\.env\.get|process\.env|import\.meta\.env")


def expand(pf: ParsedFile, node: Node, depth: int = 0) -> str:
    """Text of an expression with the initializers of the names it uses, a few hops deep."""
    out = [text(node)]
    if depth > 4:
        return out[0]
    idents = [node] if node.type == "identifier" else []
    stack = list(node.named_children)
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            idents.append(n)
        else:
            stack.extend(n.named_children)
    for ident in idents:
        binding = trace(pf, text(ident), ident)
        if binding is not None and binding.value is not None and binding.value != node:
            out.append(expand(pf, binding.value, depth + 1))
    return "\n".join(out)


LIST_TESTS = frozenset({"includes", "has", "indexOf", "some", "test"})  # LIST.has(url)
PREFIX_TESTS = frozenset({"startsWith"})  # url.startsWith(SITE_URL)
REQUEST_NAMES = frozenset({"req", "request", "ctx", "c", "event"})
EXITS = frozenset({"return_statement", "throw_statement"})


def _names(pf: ParsedFile, node: Node, depth: int = 0) -> set[str]:
    """Names a URL expression is built from, through the bindings it uses."""
    found: set[str] = set()
    for ident in [node, *walk(node)] if depth < 4 else []:
        if ident.type in {"identifier", "shorthand_property_identifier"}:
            found.add(text(ident))
            binding = trace(pf, text(ident), ident)
            if binding is not None and binding.value is not None and binding.value != node:
                found |= _names(pf, binding.value, depth + 1)
    return found


def source_line(pf: ParsedFile, value: Node, depth: int = 0) -> int | None:
    """Line of the request read a URL is built from, through its bindings."""
    for node in [value, *walk(value)] if depth < 4 else []:
        if node.type == "call_expression" and REQUEST_HINTS.search(text(node)):
            inner = [c for c in walk(node) if c.type == "call_expression" and c is not node]
            if not any(REQUEST_HINTS.search(text(c)) for c in inner):
                return line(node)
        if node.type == "identifier":
            binding = trace(pf, text(node), node)
            if binding is not None and binding.value is not None and binding.value != value:
                found = source_line(pf, binding.value, depth + 1)
                if found is not None:
                    return found
    return None


def _allow_test(pf: ParsedFile, cond: Node, names: set[str]) -> bool:
    """Does the condition test the URL against a list or a fixed origin? `ALLOWED.includes(
    origin)`, `allowed.has(new URL(u).origin)`, `/^https:\\/\\/app\\./.test(u)`,
    `u.startsWith(SITE_URL)`, `new URL(u).origin === APP_ORIGIN`. Not a test of the URL's
    own text (`u.includes("?")`) nor a prefix that any site has (`u.startsWith("https://")`)."""
    for call in [cond, *walk(cond)]:
        if call.type == "binary_expression" and text(call.child_by_field_name("operator")) in (
            "===",
            "==",
            "!==",
            "!=",
        ):
            left, right = call.child_by_field_name("left"), call.child_by_field_name("right")
            for url, other in ((left, right), (right, left)):
                if (
                    _mentions(url, names)
                    and not _mentions(other, names)
                    and _fixed_origin(pf, other)
                ):
                    return True
        if call.type != "call_expression":
            continue
        callee = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if callee is None or callee.type != "member_expression" or args is None:
            continue
        method = text(callee.child_by_field_name("property"))
        receiver = callee.child_by_field_name("object")
        if (
            method in LIST_TESTS
            and _mentions(args, names)
            and text(receiver) not in text(args)
            and _a_list(pf, receiver)
        ):
            return True
        first = args.named_children[0] if args.named_children else None
        if method in PREFIX_TESTS and _mentions(receiver, names) and _fixed_origin(pf, first):
            return True
    return False


def _always(pf: ParsedFile, cond: Node) -> bool:
    """A rejecting guard that runs whatever the configuration: in `if (allowed.length &&
    !allowed.includes(origin)) return 403` an empty list skips the test (fails open), so
    every `&&` term must test something the request sent."""
    node = unwrap(cond)
    while node is not None and node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if (
        node is not None
        and node.type == "binary_expression"
        and text(node.child_by_field_name("operator")) == "&&"
    ):
        return all(_always(pf, node.child_by_field_name(side)) for side in ("left", "right"))
    return node is not None and any(
        n.type == "identifier" and REQUEST_HINTS.search(expand(pf, n)) for n in [node, *walk(node)]
    )


SITE_NAME = re.compile(r"url|origin|site|domain|host|allow|trusted|whitelist|redirect", re.I)


def _fixed_origin(pf: ParsedFile, node: Node | None) -> bool:
    """A value naming one site: a literal with a host, an env value, a constant named for
    a site (`SITE_URL`, `APP_ORIGIN`); not any other value (`user.id`)."""
    if node is None:
        return False
    literal = string_value(node)
    if literal is not None:
        return bool(urlsplit(literal).netloc)
    binding = trace(pf, text(node), node) if node.type == "identifier" else None
    value = text(binding.value) if binding is not None and binding.value is not None else ""
    return bool(SITE_NAME.search(text(node)) or ENV_HINTS.search(f"{text(node)}\n{value}"))


def _a_list(pf: ParsedFile, node: Node | None) -> bool:
    """An allow-list: named for one, or built as an array, a Set or a split env value."""
    if node is None:
        return False
    if SITE_NAME.search(text(node)):
        return True
    return node.type == "regex" or bool(re.search(r"^\s*\[|new Set\(|\.split\(", expand(pf, node)))


def _mentions(node: Node | None, names: set[str]) -> bool:
    return node is not None and any(
        n.type in {"identifier", "shorthand_property_identifier"} and text(n) in names
        for n in [node, *walk(node)]
    )


def validated(pf: ParsedFile, pair: Node, value: Node) -> str | None:
    """The allow-list test a URL passes before it is used: a ternary falling back to a
    fixed URL (`ALLOWED.includes(o) ? o : SITE_URL`) or an `if (!ok) return/throw` guard
    before the redirect (`allowed.has(new URL(u).origin)`, `u.startsWith(SITE_URL)`)."""
    names = _names(pf, value) - REQUEST_NAMES
    fn = enclosing_function(pair)
    scope = [value, *walk(value)]
    for ident in list(scope):
        if ident.type == "identifier":
            binding = trace(pf, text(ident), ident)
            if binding is not None and binding.value is not None:
                scope += [binding.value, *walk(binding.value)]
    for node in scope:
        cond = node.child_by_field_name("condition") if node.type == "ternary_expression" else None
        if cond is not None and _allow_test(pf, cond, names):
            return text(cond)[:160]
    for stmt in pf.nodes("if_statement"):
        if fn is None or not contains(fn, stmt) or stmt.start_byte >= pair.start_byte:
            continue
        cond = stmt.child_by_field_name("condition")
        body = stmt.child_by_field_name("consequence")
        exits = body is not None and any(n.type in EXITS for n in [body, *walk(body)])
        if exits and cond is not None and _allow_test(pf, cond, names) and _always(pf, cond):
            return text(cond)[:160]
    return None
