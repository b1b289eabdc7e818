"""Who is the caller: the ``caller_check`` and ``internal_check`` facts of
``code_auth_facts`` (see ``security.py`` for the table).

Split from the security rules because recognising the caller (session, JWT, signature,
or a request claiming to be internal, and whether that comparison fails closed) is a topic
of its own; the rest of the security module asks what that caller may then do.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import env_name_of, mentions_request
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    line,
    normalized,
    string_value,
    text,
    unwrap,
)

SECRETISH = re.compile(r"SECRET|KEY|TOKEN|PASSWORD|SERVICE_ROLE|PRIVATE", re.I)
INTERNAL_NAME = re.compile(r"internal|service_?role|is_?admin|is_?trusted|is_?system", re.I)
SERVICE_ROLE_LITERAL = re.compile(r"service[_-]?role", re.I)
LOOSE_METHODS = frozenset(
    {"includes", "startsWith", "endsWith", "indexOf", "match", "test", "search", "lastIndexOf"}
)
EQUALITY = frozenset({"===", "!==", "==", "!="})
JWT_CALLS = frozenset({"jwtVerify", "verifyJwt", "verifyJWT", "verifyToken"})
SIGNATURE_CALLS = frozenset(
    {"constructEvent", "constructEventAsync", "timingSafeEqual", "verifySignature", "verifyWebhook"}
)


def auth_row(
    pf: ParsedFile,
    node: Node,
    fact: str,
    kind: str | None = None,
    detail: str | None = None,
    strict: bool | None = None,
) -> dict:
    """One ``code_auth_facts`` row (shared by every security rule)."""
    return {
        "path": pf.path,
        "line": line(node),
        "function_slug": pf.function_slug,
        "fact": fact,
        "kind": kind,
        "detail": detail,
        "strict": strict,
    }


def _secret_env(pf: ParsedFile, node: Node | None, accessors: dict[str, int]) -> str | None:
    name = env_name_of(pf, node, accessors)
    return name if name and SECRETISH.search(name) else None


def _is_empty_literal(node: Node | None) -> bool:
    node = unwrap(node)
    return node is not None and (
        node.type in {"null", "undefined"}
        or (text(node) == "undefined")
        or string_value(node) == ""
    )


def _and_chain(node: Node) -> list[Node]:
    """Operands of the `a && b && ...` expression `node` is part of (excluding node)."""
    top = node
    while top.parent is not None and (
        top.parent.type == "parenthesized_expression"
        or (
            top.parent.type == "binary_expression"
            and text(top.parent.child_by_field_name("operator")) == "&&"
        )
    ):
        top = top.parent
    out: list[Node] = []

    def walk(n: Node) -> None:
        n = unwrap(n) or n
        if n.type == "binary_expression" and text(n.child_by_field_name("operator")) == "&&":
            walk(n.child_by_field_name("left"))
            walk(n.child_by_field_name("right"))
        elif not contains(n, node):
            out.append(n)

    walk(top)
    return out


def _guarded(pf: ParsedFile, secret_side: Node, at: Node) -> bool:
    """Is the secret known to be non-empty where it is compared (fail-closed)?"""
    name = normalized(unwrap(secret_side))
    for other in _and_chain(at):
        if name and name in normalized(other):
            return True
    for stmt in pf.nodes("if_statement"):
        if stmt.start_byte >= at.start_byte:
            break
        raw = text(stmt.child_by_field_name("condition"))
        body = stmt.child_by_field_name("consequence")
        if (
            name
            and name in normalized(stmt.child_by_field_name("condition"))
            and ("!" in raw or "length" in raw)
            and body is not None
            and any(t in text(body) for t in ("throw", "return"))
        ):
            return True
    return False


def internal_checks(pf: ParsedFile, accessors: dict[str, int], names: set[str]) -> list[dict]:
    rows: list[dict] = []
    handled: list[Node] = []
    for cmp in pf.nodes("binary_expression"):
        op = text(cmp.child_by_field_name("operator"))
        if op not in EQUALITY:
            continue
        left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
        for secret_side, other in ((left, right), (right, left)):
            if _secret_env(pf, secret_side, accessors) and not _is_empty_literal(other):
                strict = op in {"===", "!=="} and _guarded(pf, secret_side, cmp)
                rows.append(auth_row(pf, cmp, "internal_check", "exact", op, strict))
                handled.append(cmp)
                break
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        fn = unwrap(callee(call))
        if prop not in LOOSE_METHODS or fn is None or fn.type != "member_expression":
            continue
        target = fn.child_by_field_name("object")
        parts = [target, *call_args(call)]
        secret = any(_secret_env(pf, p, accessors) for p in parts)
        literal = any(SERVICE_ROLE_LITERAL.search(string_value(p) or "") for p in parts)
        if secret or literal:
            rows.append(auth_row(pf, call, "internal_check", "loose", prop, False))
            handled.append(call)
    for decl in pf.nodes("variable_declarator"):
        name_node, value = (
            decl.child_by_field_name("name"),
            unwrap(decl.child_by_field_name("value")),
        )
        if name_node is None or value is None or name_node.type != "identifier":
            continue
        if not INTERNAL_NAME.search(text(name_node)) or value.type in FUNCTION_TYPES:
            continue
        if any(contains(value, h) for h in handled):
            continue
        if mentions_request(pf, value, names):
            rows.append(auth_row(pf, decl, "internal_check", "truthy", text(name_node), False))
    return rows


def caller_checks(pf: ParsedFile) -> list[dict]:
    rows = []
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        chain = normalized(callee(call))
        if prop in {"getUser", "getClaims"} and ".auth." in f".{chain}":
            rows.append(auth_row(pf, call, "caller_check", "get_user", chain))
        elif prop in JWT_CALLS or (
            prop in {"verify", "decode"}
            and re.search(r"jwt|jose", chain, re.I)
            and prop == "verify"
        ):
            rows.append(auth_row(pf, call, "caller_check", "jwt_verify", chain))
        elif prop in SIGNATURE_CALLS or chain.endswith("subtle.verify"):
            rows.append(auth_row(pf, call, "caller_check", "signature", chain))
    return rows
