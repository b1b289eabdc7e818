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

Who the caller is (``caller_check``, ``internal_check``) is recorded by
``callers.py``; this module records what the caller may do and gathers both.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import mentions_request, request_names, value_source
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    literal_value,
    member_parts,
    normalized,
    object_properties,
    property_value,
    string_value,
    text,
    unwrap,
)
from .callers import EQUALITY, auth_row, caller_checks, internal_checks
from .exposure import exposure_facts
from .guards import admin_gates, helper_guards, hmac_checks, session_compares, stored_tokens

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
PANEL_APP = "/api/application"
SERVER_CONTROL = re.compile(
    r"/(power|reinstall|suspend|unsuspend|transfer|reassign|command)"
    r"(\b|/|$)"
)
ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
CONTACT_KEYS = frozenset({"email", "user_email", "userEmail", "customer_email"})
# calls where an email picks a user or a row (identity), not where it is a contact address
IDENTITY_SINKS = frozenset(
    {"eq", "ilike", "like", "match", "filter", "or", "in", "find", "some", "getUserByEmail"}
)
AUTH_RESULT = re.compile(r"\b(getUser|getClaims|jwtVerify|verifyJwt)\b")


def _from_request(
    pf: ParsedFile, node: Node | None, names: set[str], accessors: dict[str, int]
) -> bool:
    """Does a value come from the request (also through `JSON.parse(await req.text())`)?"""
    from ..ts.scope import trace
    from ..ts.syntax import root_identifier

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
                rows.append(auth_row(pf, cmp, "ownership_check", "compare", key))
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
                rows.append(auth_row(pf, call, "ownership_check", "filter", column))
        if prop == "createClient":
            for arg in args:
                obj = unwrap(arg)
                if (
                    obj is not None
                    and obj.type == "object"
                    and "Authorization" in text(obj)
                    and property_value(obj, "global")[0] is not None
                ):
                    rows.append(auth_row(pf, call, "ownership_check", "rls_client", "createClient"))
    return rows


def _lookups(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    """Rows fetched by an id the request supplies (`.eq('id', body.order_id)`)."""
    from ..ts.idioms import query_table

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
            rows.append(auth_row(pf, call, "resource_lookup", column, table))
    return rows


def _body_identity(pf: ParsedFile, names: set[str], accessors: dict[str, int]) -> list[dict]:
    from ..ts.scope import pattern_names

    rows, lines = [], set()
    for decl in pf.nodes("variable_declarator"):
        pattern, value = decl.child_by_field_name("name"), decl.child_by_field_name("value")
        if pattern is None or value is None or pattern.type != "object_pattern":
            continue
        keys = [path[-1] for _, path in pattern_names(pattern) if path]
        wanted = [k for k in keys if k in IDENTITY_KEYS]
        if wanted and _from_request(pf, value, names, accessors):
            bound = {path[-1]: text(n) for n, path in pattern_names(pattern) if path}
            for key in wanted:
                kind = _identity_use(pf, bound.get(key, key)) if key in CONTACT_KEYS else None
                rows.append(auth_row(pf, decl, "body_identity", kind, key))
            lines.add(line(decl))
    for member in pf.nodes("member_expression", "subscript_expression"):
        obj, key = member_parts(member)
        if key not in IDENTITY_KEYS or obj is None or line(member) in lines:
            continue
        root = unwrap(obj)
        if root is not None and normalized(root).endswith(("headers", "user", "auth")):
            continue
        if _from_request(pf, obj, names, accessors):
            kind = _identity_use(pf, text(member)) if key in CONTACT_KEYS else None
            rows.append(auth_row(pf, member, "body_identity", kind, key))
            lines.add(line(member))
    return rows


def _identity_use(pf: ParsedFile, expr: str) -> str | None:
    """'contact' when an email from the request only addresses mail or a payment (a
    receipt, Stripe's customer_email); None when it selects a user or a row: a query
    filter, a lookup in a user list, or an auth admin call."""
    word = re.compile(rf"(?<![\w.]){re.escape(expr)}(?!\w)")
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if not any(word.search(text(a)) for a in args):
            continue
        chain = normalized(callee(call))
        if call_property(call) in IDENTITY_SINKS or ".auth.admin." in f".{chain}":
            return None
    for cmp in pf.nodes("binary_expression"):
        if text(cmp.child_by_field_name("operator")) in EQUALITY and word.search(text(cmp)):
            return None
    return "contact"


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
            rows.append(auth_row(pf, node, "privileged_op", kind, value[:80]))
    for call in pf.nodes("call_expression"):
        chain = normalized(callee(call))
        if ".auth.admin." in f".{chain}":
            rows.append(auth_row(pf, call, "privileged_op", "auth_admin", chain[-60:]))
    for obj in pf.nodes("object"):
        for key, _value, prop in object_properties(obj):
            if key in {"password", "new_password", "newPassword"}:
                rows.append(auth_row(pf, prop, "privileged_op", "credential_write", key))
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
                rows.append(auth_row(pf, prop, "cors_origin", kind, detail))
            elif key and key.lower() == ACAC and literal_value(value) in {"true", None}:
                rows.append(auth_row(pf, prop, "ambient_credentials", "allow_credentials", key))
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        first = (string_value(args[0]) or "").lower() if args else ""
        prop = call_property(call)
        if (prop == "get" and first == "cookie") or prop in {"getCookies", "getCookie"}:
            rows.append(auth_row(pf, call, "ambient_credentials", "cookie", prop))
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if (
            call_property(call) in {"set", "append", "header"}
            and len(args) >= 2
            and ((string_value(args[0]) or "").lower() == ACAO)
        ):
            kind, detail = kind_of(args[1])
            rows.append(auth_row(pf, call, "cors_origin", kind, detail))
    return rows


def auth_facts(pf: ParsedFile, accessors: dict[str, int]) -> list[dict]:
    """Every security fact of one parsed file (see the module docstring)."""
    names = request_names(pf)
    rows = caller_checks(pf)
    rows += stored_tokens(pf, names, accessors)
    rows += hmac_checks(pf)
    rows += helper_guards(pf, names)
    rows += admin_gates(pf)
    rows += session_compares(pf)
    rows += internal_checks(pf, accessors, names)
    rows += _ownership(pf, names, accessors)
    rows += _lookups(pf, names, accessors)
    rows += _body_identity(pf, names, accessors)
    rows += _privileged(pf)
    rows += _cors(pf, names, accessors)
    rows += exposure_facts(pf)
    unique = {(r["line"], r["fact"], r["kind"], r["detail"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["line"], r["fact"]))
