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
    enclosing,
    line,
    normalized,
    string_value,
    text,
    unwrap,
)
from .common import tests_empty

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
# Set by Supabase in every function's environment: never empty, never the caller's choice.
INJECTED_ENV = frozenset(
    {"SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_DB_URL"}
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


def _chain(node: Node, operator: str) -> list[Node]:
    """Operands of the `a OP b OP ...` expression `node` is part of (excluding node)."""

    def joins(n: Node) -> bool:
        return n.type == "binary_expression" and text(n.child_by_field_name("operator")) == operator

    top = node
    while top.parent is not None and (
        top.parent.type == "parenthesized_expression" or joins(top.parent)
    ):
        top = top.parent
    out: list[Node] = []

    def walk(n: Node) -> None:
        n = unwrap(n) or n
        if joins(n):
            walk(n.child_by_field_name("left"))
            walk(n.child_by_field_name("right"))
        elif not contains(n, node):
            out.append(n)

    walk(top)
    return out


def _and_chain(node: Node) -> list[Node]:
    return _chain(node, "&&")


def _or_chain(node: Node) -> list[Node]:
    return _chain(node, "||")


def _guarded(pf: ParsedFile, side: Node, at: Node) -> bool:
    """Is this side (the secret or the presented token) known to be non-empty where it is
    compared? Either is enough: a non-empty token equal to the secret proves both."""
    name = normalized(unwrap(side))
    if not name:
        return False
    for other in _and_chain(at):
        if name in normalized(other):
            return True
    for other in _or_chain(at):  # `!token || token !== SECRET`
        if other.type == "unary_expression" and name in normalized(other):
            return True
    for stmt in pf.nodes("if_statement"):
        if stmt.start_byte >= at.start_byte:
            break
        cond = stmt.child_by_field_name("condition")
        body = stmt.child_by_field_name("consequence")
        if (
            cond is not None
            and not contains(cond, at)
            and tests_empty(text(cond), name)
            and body is not None
            and any(t in text(body) for t in ("throw", "return"))
        ):
            return True
    return False


def _empty_fallback(pf: ParsedFile, node: Node | None, accessors: dict[str, int]) -> bool:
    """`Deno.env.get('X') ?? ''` (directly or in the const it is bound to): unset becomes ''."""
    from ..ts.scope import trace

    node = unwrap(node)
    for _ in range(4):
        if node is None:
            return False
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) in {
            "??",
            "||",
        }:
            return _is_empty_literal(node.child_by_field_name("right"))
        if node.type != "identifier":
            return False
        binding = trace(pf, text(node), node)
        node = unwrap(binding.value) if binding is not None else None
    return False


def _requestish(
    pf: ParsedFile, node: Node | None, names: set[str], accessors: dict[str, int]
) -> bool:
    from .guards import requestish

    node = unwrap(node)
    if node is not None and node.type == "identifier":
        from ..ts.scope import trace

        binding = trace(pf, text(node), node)
        if binding is not None and binding.kind == "param":
            return True  # a helper's token parameter: `function isInternal(token)`
    return requestish(pf, node, names, accessors)


def _alternative(
    pf: ParsedFile, check: Node, names: set[str], accessors: dict[str, int]
) -> str | None:
    """A caller-chosen literal test that lets the request through instead of the secret
    check: `!h.includes(KEY) && !h.includes('Bearer ')`, `h === KEY || h.startsWith('ey')`."""
    stmt = enclosing(check, {"if_statement"})
    cond = stmt.child_by_field_name("condition") if stmt is not None else None
    if cond is None or not contains(cond, check):
        return None
    negated = check.parent is not None and check.parent.type == "unary_expression"
    for call in pf.nodes("call_expression"):
        if not contains(cond, call) or contains(call, check) or contains(check, call):
            continue
        fn = unwrap(callee(call))
        args = call_args(call)
        if call_property(call) not in LOOSE_METHODS or fn is None or fn.type != "member_expression":
            continue
        if not args or string_value(args[0]) is None:
            continue
        if not _requestish(pf, fn.child_by_field_name("object"), names, accessors):
            continue
        other_neg = call.parent is not None and call.parent.type == "unary_expression"
        op = "&&" if negated else "||"
        joined = {
            text(n.child_by_field_name("operator")) for n in _logic_between(cond, check, call)
        }
        if negated == other_neg and joined == {op}:
            return string_value(args[0])
    return None


def _logic_between(cond: Node, a: Node, b: Node) -> list[Node]:
    """Logical operators on the path from the common ancestor of a and b inside cond."""
    node = a
    while node is not None and not contains(node, b):
        node = node.parent
    out = []
    while node is not None and contains(cond, node):
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) in {
            "&&",
            "||",
        }:
            out.append(node)
            break
        node = node.parent
    return out


def internal_checks(pf: ParsedFile, accessors: dict[str, int], names: set[str]) -> list[dict]:
    """Requests recognised as internal calls, and whether the recognition holds.

    A comparison with a platform-injected key (never empty) or a secret checked non-empty
    on either side is exact and fail-closed. `includes(secret)` is loose only when the
    secret can be empty (an explicit `?? ''`, kind ``loose_empty``: reported once, by the
    configuration rule) or when a caller-chosen literal ('service_role', 'Bearer ') passes
    the test instead of the secret.
    """
    rows: list[dict] = []
    handled: list[Node] = []
    for cmp in pf.nodes("binary_expression"):
        op = text(cmp.child_by_field_name("operator"))
        if op not in EQUALITY:
            continue
        left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
        for secret_side, other in ((left, right), (right, left)):
            name = _secret_env(pf, secret_side, accessors)
            if name and not _is_empty_literal(other) and not _secret_env(pf, other, accessors):
                strict = name in INJECTED_ENV or (
                    op in {"===", "!=="}
                    and (_guarded(pf, secret_side, cmp) or _guarded(pf, other, cmp))
                )
                kind, detail = "exact", op
                alt = _alternative(pf, cmp, names, accessors)
                if alt is not None:
                    kind, detail, strict = "loose", f"or {alt!r}", False
                rows.append(auth_row(pf, cmp, "internal_check", kind, detail, strict))
                handled.append(cmp)
                break
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        fn = unwrap(callee(call))
        if prop not in LOOSE_METHODS or fn is None or fn.type != "member_expression":
            continue
        target = fn.child_by_field_name("object")
        parts = [target, *call_args(call)]
        secrets = [(p, _secret_env(pf, p, accessors)) for p in parts]
        secrets = [(p, n) for p, n in secrets if n]
        literal = any(SERVICE_ROLE_LITERAL.search(string_value(p) or "") for p in parts)
        if not secrets and not literal:
            continue
        if not any(_requestish(pf, p, names, accessors) for p in parts):
            continue  # `stripeKey.startsWith('sk_test_')` recognises no caller
        handled.append(call)
        if literal:
            rows.append(auth_row(pf, call, "internal_check", "loose", prop, False))
            continue
        node, name = secrets[0]
        alt = _alternative(pf, call, names, accessors)
        if alt is not None:
            rows.append(auth_row(pf, call, "internal_check", "loose", f"or {alt!r}", False))
        elif name in INJECTED_ENV or _guarded(pf, node, call):
            rows.append(auth_row(pf, call, "internal_check", "exact", prop, True))
        elif _empty_fallback(pf, node, accessors):
            rows.append(auth_row(pf, call, "internal_check", "loose_empty", prop, False))
        else:
            rows.append(auth_row(pf, call, "internal_check", "exact", prop, False))
    from .guards import in_denying_if

    rows += [
        auth_row(pf, node, "internal_gate", "refuses", None)
        for node, row in zip(handled, rows, strict=True)
        if row["strict"] and in_denying_if(node)
    ]
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
        word = re.compile(rf"\b{re.escape(text(name_node))}\b")
        if any(word.search(text(h)) for h in handled):
            continue  # the header is then compared with the secret
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
