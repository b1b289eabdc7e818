"""Caller checks beyond `auth.getUser`: stored tokens, hand-made HMAC signatures, guards
around imported auth helpers, admin-role gates, and values that are the session's user.

Real functions authenticate callers in many ways the obvious calls miss: a guest booking
proves itself with its stored access token (`booking.guest_access_token !== token`), a
reset link with a token hash looked up in the database, a Shopify webhook with an HMAC
computed by Web Crypto, a function with `const user = await requireUser(req)` from a
package. Missing them made every such function "unauthenticated". The rows here are
``code_auth_facts`` rows (see ``security.py``).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import env_name_of, mentions_request, value_source
from ..ts.scope import trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing,
    enclosing_function,
    member_parts,
    normalized,
    root_identifier,
    string_value,
    text,
    unwrap,
)

EQUALITY = frozenset({"===", "!==", "==", "!="})
# a column or field holding a capability the caller must present (not an id)
TOKEN_FIELD = re.compile(r"token|secret|hash|otp|nonce|passcode", re.I)
AUTH_HELPER = re.compile(r"auth|user|session|caller|claims|jwt|token|ctx|context", re.I)
AUTH_RESULT = re.compile(r"\b(getUser|getClaims|jwtVerify|verifyJwt|verifyJWT)\b")
SESSION_ID = re.compile(
    r"\b(user|authUser|currentUser|caller|sessionUser|authedUser)\??\.id\b|"
    r"\.user\??\.id\b|\b(claims|payload|jwt|decoded)\??\.sub\b"
)
DENIED = re.compile(r"\b40[13]\b|unauthori[sz]ed|forbidden|not allowed|access denied", re.I)
ADMIN_VALUES = frozenset({"admin", "super_admin", "superadmin", "owner", "staff"})
ADMIN_FLAG = re.compile(r"\bis_?admin\b|\bisSuperAdmin\b|\bis_super_admin\b", re.I)
HMAC_CALLS = frozenset({"createHmac", "hmac"})
SAFE_COMPARE = re.compile(r"timingSafeEqual|safeCompare|secureCompare|constantTime", re.I)


def _row(pf: ParsedFile, node: Node, fact: str, kind: str, detail: str | None) -> dict:
    from .callers import auth_row

    return auth_row(pf, node, fact, kind, detail)


def requestish(
    pf: ParsedFile, node: Node | None, names: set[str], accessors: dict[str, int], depth: int = 0
) -> bool:
    """Does a value come from the request, directly, through bindings or through a call's
    arguments (`schema.safeParse(await req.json()).data.token`)?"""
    node = unwrap(node)
    if node is None or depth > 8 or env_name_of(pf, node, accessors):
        return False
    if AUTH_RESULT.search(text(node)):
        return False  # the session's user, even when the token came from a header
    source = value_source(pf, node, names, accessors)[0]
    if source == "database":
        return False  # a row loaded by a request id is the database's, not the caller's
    if source == "request" or mentions_request(pf, node, names):
        return True
    if node.type in {"call_expression", "new_expression"} and any(
        requestish(pf, a, names, accessors, depth + 1) for a in call_args(node)
    ):
        return True
    inner = unwrap(callee(node)) if node.type == "call_expression" else node
    while inner is not None and inner.type in {"member_expression", "subscript_expression"}:
        inner = unwrap(inner.child_by_field_name("object"))
    if inner is not None and inner != node and inner.type in {"call_expression", "new_expression"}:
        return requestish(pf, inner, names, accessors, depth + 1)  # `f(x).map(...).join('')`
    root = root_identifier(node)
    binding = trace(pf, text(root), root) if root is not None else None
    if binding is None or binding.value is None or binding.value == node:
        return False
    return requestish(pf, binding.value, names, accessors, depth + 1)


def from_session(pf: ParsedFile, node: Node | None, depth: int = 0) -> bool:
    """Is a value the authenticated user's id (`user.id`, a const bound from getUser, the
    result of an auth helper called with the request)?"""
    node = unwrap(node)
    if node is None or depth > 3:
        return False
    raw = text(node)
    if SESSION_ID.search(raw) or AUTH_RESULT.search(raw):
        return True
    root = root_identifier(node)
    binding = trace(pf, text(root), root) if root is not None else None
    if binding is None or binding.value is None:
        return False
    value = unwrap(binding.value)
    if value is None:
        return False
    if value.type == "call_expression" and AUTH_HELPER.search(call_property(value) or ""):
        return True  # `const { userId } = await requireCtx(req)`
    return from_session(pf, value, depth + 1)


def _denies(stmt: Node) -> bool:
    """Does an if-statement's consequence refuse the request (401/403 or a throw)?"""
    body = stmt.child_by_field_name("consequence")
    if body is None:
        return False
    raw = text(body)
    return ("return" in raw or "throw" in raw) and (bool(DENIED.search(raw)) or "throw" in raw)


def in_denying_if(node: Node) -> bool:
    stmt = enclosing(node, {"if_statement"})
    while stmt is not None:
        cond = stmt.child_by_field_name("condition")
        if cond is not None and contains(cond, node):
            return _denies(stmt)
        stmt = enclosing(stmt, {"if_statement"})
    return False


def stored_tokens(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    """The caller presents a capability stored in the database: a query filtered by a
    token column with a request value, or a row's token field compared with one."""
    rows = []
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if call_property(call) != "eq" or len(args) < 2:
            continue
        column = string_value(args[0]) or ""
        if (
            TOKEN_FIELD.search(column)
            and not column.endswith("_id")
            and requestish(pf, args[1], names, accessors)
        ):
            rows.append(_row(pf, call, "caller_check", "stored_token", column))
            rows.append(_row(pf, call, "ownership_check", "token", column))
    for call in pf.nodes("call_expression"):  # timingSafeEqual(row.token, body.token)
        args = call_args(call)
        if not SAFE_COMPARE.search(call_property(call) or "") or len(args) < 2:
            continue
        fields = [_token_member(pf, a) for a in args[:2]]
        for field, other in ((fields[0], args[1]), (fields[1], args[0])):
            if field and requestish(pf, other, names, accessors) and _in_refusal(call):
                rows.append(_row(pf, call, "caller_check", "stored_token", field))
                rows.append(_row(pf, call, "ownership_check", "token", field))
                break
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) not in EQUALITY:
            continue
        sides = [unwrap(cmp.child_by_field_name(f)) for f in ("left", "right")]
        for field, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            if field is None or other is None:
                continue
            _, key = member_parts(field)
            if not key or not TOKEN_FIELD.search(key) or key.endswith("_id"):
                continue
            if env_name_of(pf, field, accessors) or env_name_of(pf, other, accessors):
                continue
            if requestish(pf, field, names, accessors):
                continue
            if requestish(pf, other, names, accessors) and in_denying_if(cmp):
                rows.append(_row(pf, cmp, "caller_check", "stored_token", key))
                rows.append(_row(pf, cmp, "ownership_check", "token", key))
                break
    return rows


def _token_member(pf: ParsedFile, node: Node) -> str | None:
    """`row.guest_access_token` in an argument, or in the const it is bound to."""
    node = unwrap(node)
    if node is not None and node.type == "identifier":
        binding = trace(pf, text(node), node)
        node = unwrap(binding.value) if binding is not None else None
    if node is None:
        return None
    for member in pf.nodes("member_expression"):
        key = member_parts(member)[1]
        if contains(node, member) and key and TOKEN_FIELD.search(key) and not key.endswith("_id"):
            return key
    return None


def _in_refusal(call: Node) -> bool:
    """A comparison call whose falsy result refuses the request (`if (!eq(a, b)) return 403`)."""
    return in_denying_if(call)


def hmac_checks(pf: ParsedFile) -> list[dict]:
    """Signatures verified by hand: an HMAC computed (Web Crypto `subtle.sign`, node's
    `createHmac`) in a function that also compares it (`===`, timingSafeEqual, ...)."""
    rows = []
    for call in pf.nodes("call_expression"):
        chain = normalized(callee(call))
        prop = call_property(call)
        hand = chain.endswith("subtle.sign") or prop in HMAC_CALLS
        if not hand:
            continue
        fn = enclosing_function(call)
        scope = fn if fn is not None else pf.root
        compares = any(
            contains(scope, c) and text(c.child_by_field_name("operator")) in EQUALITY
            for c in pf.nodes("binary_expression")
        ) or any(
            contains(scope, c) and re.search(r"equal|compare", call_property(c) or "", re.I)
            for c in pf.nodes("call_expression")
        )
        if compares:
            rows.append(_row(pf, call, "caller_check", "signature", chain[-60:]))
    return rows


def helper_guards(pf: ParsedFile, names: set[str]) -> list[dict]:
    """`const user = await requireUser(req); if (!user) return 401` with an auth helper
    imported from a package, and `Deno.serve(withAuth(handler))` wrappers.

    Helpers defined in the checkout are judged by their own code (their file is in the
    function's closure), so only imported helpers count here: a local helper that merely
    decodes a token (`parseJwtClaims`) is no caller check.
    """
    rows = []
    for call in pf.nodes("call_expression"):
        fn = unwrap(callee(call))
        if fn is None or fn.type != "identifier" or not AUTH_HELPER.search(text(fn)):
            continue
        binding = trace(pf, text(fn), fn)
        if binding is None or binding.kind != "import" or _relative_import(binding.node):
            continue
        parent = call.parent
        while parent is not None and parent.type in {
            "await_expression",
            "parenthesized_expression",
        }:
            parent = parent.parent
        if parent is not None and parent.type == "arguments":
            outer = parent.parent
            if outer is not None and call_property(outer) in {"serve", "use"}:
                rows.append(_row(pf, call, "caller_check", "wrapper", text(fn)))
            continue
        if not any(
            mentions_request(pf, a, names) or a.type == "identifier" for a in call_args(call)
        ):
            continue
        decl = enclosing(call, {"variable_declarator"})
        if decl is None or not contains(decl.child_by_field_name("value") or decl, call):
            rows.append(_row(pf, call, "caller_check", "guard", text(fn)))  # throws itself
            continue
        bound = [text(n) for n in _pattern_identifiers(decl.child_by_field_name("name"))]
        for stmt in pf.nodes("if_statement"):
            cond = text(stmt.child_by_field_name("condition"))
            if (
                stmt.start_byte > call.end_byte
                and any(re.search(rf"\b{re.escape(b)}\b", cond) for b in bound)
                and _denies(stmt)
            ):
                rows.append(_row(pf, call, "caller_check", "guard", text(fn)))
                break
    return rows


def admin_gates(pf: ParsedFile) -> list[dict]:
    """The caller must hold an admin role: `role !== 'admin'` / `!profile.is_admin` /
    `.eq('role', 'admin')` / `rpc('is_admin')` feeding a refusal."""
    rows = []
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) not in EQUALITY:
            continue
        sides = [unwrap(cmp.child_by_field_name(f)) for f in ("left", "right")]
        values = {string_value(s) for s in sides if s is not None}
        if values & ADMIN_VALUES and "role" in text(cmp).lower() and in_denying_if(cmp):
            rows.append(_row(pf, cmp, "admin_check", "role", text(cmp)[:60]))
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        prop = call_property(call)
        first = string_value(args[0]) if args else None
        if (
            prop == "eq"
            and len(args) > 1
            and "role" in (first or "")
            and (string_value(args[1]) in ADMIN_VALUES)
        ):
            rows.append(_row(pf, call, "admin_check", "role_filter", first))
        elif prop == "rpc" and first and re.search(r"admin|has_role|is_staff", first, re.I):
            rows.append(_row(pf, call, "admin_check", "rpc", first))
    for stmt in pf.nodes("if_statement"):
        cond = stmt.child_by_field_name("condition")
        if cond is not None and ADMIN_FLAG.search(text(cond)) and _denies(stmt):
            rows.append(_row(pf, stmt, "admin_check", "flag", text(cond)[:60]))
    return rows


def session_compares(pf: ParsedFile) -> list[dict]:
    """Ownership proven against the session: `row.patient_id !== user.id`, a body
    `user_id !== authUserId`, `.eq('agent_id', user.id)`."""
    rows = []
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) not in EQUALITY:
            continue
        sides = [unwrap(cmp.child_by_field_name(f)) for f in ("left", "right")]
        for field, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            if field is None or other is None or string_value(other) is not None:
                continue
            name = member_parts(field)[1] if field.type != "identifier" else text(field)
            if (
                name
                and re.search(r"(_id|Id|^id)$", name)
                and from_session(pf, other)
                and not from_session(pf, field)
            ):
                rows.append(_row(pf, cmp, "ownership_check", "session", name))
                break
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if call_property(call) in {"eq", "match"} and len(args) > 1:
            column = string_value(args[0]) or ""
            if (column == "id" or column.endswith("_id")) and from_session(pf, args[1]):
                rows.append(_row(pf, call, "ownership_check", "session", column))
    return rows


def _relative_import(ident: Node) -> bool:
    stmt = enclosing(ident, {"import_statement"})
    src = stmt.child_by_field_name("source") if stmt is not None else None
    spec = string_value(src) if src is not None else None
    return bool(spec and spec.startswith("."))


def _pattern_identifiers(pattern: Node | None) -> list[Node]:
    from ..ts.scope import pattern_names

    if pattern is None:
        return []
    return [n for n, _ in pattern_names(pattern)]
