"""Security facts per file (Areas 4 and 7): who is the caller, and what may they do.

Whether a function acts with the service role comes from ``code_env_reads`` (a read of
``*SERVICE_ROLE*``), so it is not repeated here.

One table, ``code_auth_facts``, holds one row per fact so checks can ask any question
of a function by joining its file closure (``code_function_files``):

- ``caller_check``: the code authenticates the caller (kind ``get_user``,
  ``jwt_verify``, ``signature``);
- ``internal_check``: a request is recognised as an internal / service-role call; kind
  ``exact`` (=== / !== against a secret), ``loose`` (includes, startsWith, indexOf,
  match on a secret or a 'service_role' literal) or ``truthy`` (a flag derived from the
  request without any comparison); ``strict`` tells whether an exact comparison is
  fail-closed (the secret is checked non-empty first);
- ``ownership_check``: the resource's owner is compared to / filtered by a value that
  does not come from the request (kind ``compare``, ``filter``, ``rls_client``);
- ``resource_lookup``: a row is fetched by an id taken from the request (detail: table);
- ``body_identity``: a user id or email is taken from the request body (detail: key);
- ``privileged_op``: panel application API, server power/transfer, auth admin calls,
  password writes (kind says which);
- ``cors_origin``: an Access-Control-Allow-Origin value (kind ``wildcard``,
  ``reflect``, ``fixed``, ``dynamic``).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from .code_idioms import env_name_of, mentions_request, request_names, value_source
from .ts_ast import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    line,
    member_parts,
    normalized,
    object_properties,
    property_value,
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
OWNER_KEYS = frozenset(
    {
        "user_id",
        "owner_id",
        "customer_id",
        "profile_id",
        "account_id",
        "created_by",
        "userId",
        "ownerId",
        "customerId",
        "profileId",
    }
)
IDENTITY_KEYS = frozenset(
    {
        "user_id",
        "userId",
        "uid",
        "email",
        "user_email",
        "userEmail",
        "customer_email",
        "owner_id",
        "ownerId",
    }
)
JWT_CALLS = frozenset({"jwtVerify", "verifyJwt", "verifyJWT", "verifyToken"})
SIGNATURE_CALLS = frozenset(
    {"constructEvent", "constructEventAsync", "timingSafeEqual", "verifySignature", "verifyWebhook"}
)
PANEL_APP = "/api/application"
SERVER_CONTROL = re.compile(
    r"/(power|reinstall|suspend|unsuspend|transfer|reassign|command)"
    r"(\b|/|$)"
)
ACAO = "access-control-allow-origin"
AUTH_RESULT = re.compile(r"\b(getUser|getClaims|jwtVerify|verifyJwt)\b")


def _row(
    pf: ParsedFile,
    node: Node,
    fact: str,
    kind: str | None = None,
    detail: str | None = None,
    strict: bool | None = None,
) -> dict:
    return {
        "path": pf.path,
        "line": line(node),
        "function_slug": pf.function_slug,
        "fact": fact,
        "kind": kind,
        "detail": detail,
        "strict": strict,
    }


def _from_request(
    pf: ParsedFile, node: Node | None, names: set[str], accessors: dict[str, int]
) -> bool:
    """Does a value come from the request (also through `JSON.parse(await req.text())`)?"""
    from .ts_ast import root_identifier
    from .ts_scope import trace

    if node is None:
        return False
    if AUTH_RESULT.search(text(node)):
        return False
    if value_source(pf, node, names, accessors)[0] == "request" or mentions_request(
        pf, node, names
    ):
        return True
    root = root_identifier(node)
    binding = trace(pf, text(root), root) if root is not None else None
    if binding is None or binding.value is None or AUTH_RESULT.search(text(binding.value)):
        return False  # the session's user, even when the token came from a header
    return mentions_request(pf, binding.value, names)


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


def _internal_checks(pf: ParsedFile, accessors: dict[str, int], names: set[str]) -> list[dict]:
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
                rows.append(_row(pf, cmp, "internal_check", "exact", op, strict))
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
            rows.append(_row(pf, call, "internal_check", "loose", prop, False))
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
            rows.append(_row(pf, decl, "internal_check", "truthy", text(name_node), False))
    return rows


def _caller_checks(pf: ParsedFile) -> list[dict]:
    rows = []
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        chain = normalized(callee(call))
        if prop in {"getUser", "getClaims"} and ".auth." in f".{chain}":
            rows.append(_row(pf, call, "caller_check", "get_user", chain))
        elif prop in JWT_CALLS or (
            prop in {"verify", "decode"}
            and re.search(r"jwt|jose", chain, re.I)
            and prop == "verify"
        ):
            rows.append(_row(pf, call, "caller_check", "jwt_verify", chain))
        elif prop in SIGNATURE_CALLS or chain.endswith("subtle.verify"):
            rows.append(_row(pf, call, "caller_check", "signature", chain))
    return rows


def _ownership(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    rows = []
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) not in EQUALITY:
            continue
        sides = [unwrap(cmp.child_by_field_name(f)) for f in ("left", "right")]
        keys = [
            member_parts(s)[1] if s is not None and s.type != "identifier" else None for s in sides
        ]
        for key, other in ((keys[0], sides[1]), (keys[1], sides[0])):
            if (
                key in OWNER_KEYS
                and other is not None
                and string_value(other) is None
                and other.type not in {"null", "undefined"}
            ):
                rows.append(_row(pf, cmp, "ownership_check", "compare", key))
                break
    for call in pf.nodes("call_expression"):
        prop, args = call_property(call), call_args(call)
        if prop in {"eq", "match"} and args:
            column = string_value(args[0]) if prop == "eq" else None
            value = args[1] if prop == "eq" and len(args) > 1 else None
            if prop == "match" and unwrap(args[0]) is not None and unwrap(args[0]).type == "object":
                for key in OWNER_KEYS:
                    found, _ = property_value(unwrap(args[0]), key)
                    if found is not None:
                        column, value = key, found
            if (
                column in OWNER_KEYS
                and value is not None
                and not _from_request(pf, value, names, accessors)
            ):
                rows.append(_row(pf, call, "ownership_check", "filter", column))
        if prop == "createClient":
            for arg in args:
                obj = unwrap(arg)
                if (
                    obj is not None
                    and obj.type == "object"
                    and "Authorization" in text(obj)
                    and property_value(obj, "global")[0] is not None
                ):
                    rows.append(_row(pf, call, "ownership_check", "rls_client", "createClient"))
    return rows


def _lookups(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    """Rows fetched by an id the request supplies (`.eq('id', body.order_id)`)."""
    from .code_idioms import query_table

    rows = []
    for call in pf.nodes("call_expression"):
        prop, args = call_property(call), call_args(call)
        if prop not in {"eq", "in"} or len(args) < 2:
            continue
        column = string_value(args[0]) or ""
        if column in OWNER_KEYS or not (column == "id" or column.endswith("_id")):
            continue
        if not _from_request(pf, args[1], names, accessors):
            continue
        is_query, table = query_table(call)
        if is_query:
            rows.append(_row(pf, call, "resource_lookup", column, table))
    return rows


def _body_identity(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    from .ts_scope import pattern_names

    rows, lines = [], set()
    for decl in pf.nodes("variable_declarator"):
        pattern, value = decl.child_by_field_name("name"), decl.child_by_field_name("value")
        if pattern is None or value is None or pattern.type != "object_pattern":
            continue
        keys = [path[-1] for _, path in pattern_names(pattern) if path]
        wanted = [k for k in keys if k in IDENTITY_KEYS]
        if wanted and _from_request(pf, value, names, accessors):
            for key in wanted:
                rows.append(_row(pf, decl, "body_identity", None, key))
            lines.add(line(decl))
    for member in pf.nodes("member_expression", "subscript_expression"):
        obj, key = member_parts(member)
        if key not in IDENTITY_KEYS or obj is None or line(member) in lines:
            continue
        root = unwrap(obj)
        if root is not None and normalized(root).endswith(("headers", "user", "auth")):
            continue
        if _from_request(pf, obj, names, accessors):
            rows.append(_row(pf, member, "body_identity", None, key))
            lines.add(line(member))
    return rows


def _privileged(pf: ParsedFile) -> list[dict]:
    rows, seen = [], set()
    for node in pf.nodes("string", "template_string"):
        value = text(node)
        kind = None
        bare = value.strip("`'\"")
        if SERVER_CONTROL.search(value) and ("/api/" in value or bare.startswith("/")):
            kind = "server_control"
        elif PANEL_APP in value:
            kind = "panel_application_api"
        if kind and (line(node), kind) not in seen:
            seen.add((line(node), kind))
            rows.append(_row(pf, node, "privileged_op", kind, value[:80]))
    for call in pf.nodes("call_expression"):
        chain = normalized(callee(call))
        if ".auth.admin." in f".{chain}":
            rows.append(_row(pf, call, "privileged_op", "auth_admin", chain[-60:]))
    for obj in pf.nodes("object"):
        for key, _value, prop in object_properties(obj):
            if key in {"password", "new_password", "newPassword"}:
                rows.append(_row(pf, prop, "privileged_op", "credential_write", key))
    return rows


def _cors(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    def kind_of(value: Node | None) -> tuple[str, str | None]:
        literal = string_value(value)
        if literal == "*":
            return "wildcard", "*"
        if literal is not None:
            return "fixed", literal
        if (
            value is not None
            and "origin" in text(value).lower()
            and value_source(pf, value, names, accessors)[0] == "request"
        ):
            return "reflect", text(value)[:60]
        return "dynamic", text(value)[:60] if value is not None else None

    rows = []
    for obj in pf.nodes("object"):
        for key, value, prop in object_properties(obj):
            if key and key.lower() == ACAO:
                kind, detail = kind_of(value)
                rows.append(_row(pf, prop, "cors_origin", kind, detail))
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if (
            call_property(call) in {"set", "append", "header"}
            and len(args) >= 2
            and ((string_value(args[0]) or "").lower() == ACAO)
        ):
            kind, detail = kind_of(args[1])
            rows.append(_row(pf, call, "cors_origin", kind, detail))
    return rows


def auth_facts(pf: ParsedFile, accessors: dict[str, int]) -> list[dict]:
    """Every security fact of one parsed file (see the module docstring)."""
    names = request_names(pf)
    rows = _caller_checks(pf)
    rows += _internal_checks(pf, accessors, names)
    rows += _ownership(pf, names, accessors)
    rows += _lookups(pf, names, accessors)
    rows += _body_identity(pf, names, accessors)
    rows += _privileged(pf)
    rows += _cors(pf, names, accessors)
    unique = {(r["line"], r["fact"], r["kind"], r["detail"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["line"], r["fact"]))
