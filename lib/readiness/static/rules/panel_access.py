"""Who a function's database client acts as, and where the ids of its panel
application-API calls come from (issue 16, attack paths through the panel).

- `client_role(pf, node, roles)`: 'service_role', 'anon', 'user-jwt' (an anon or service
  key with the caller's `Authorization` header in `global.headers`: RLS applies as the
  caller) or 'unknown', from the `createClient(url, key, options)` the query's client is
  bound to, followed through consts, env names and one import (`ClientRoles`);
- `code_panel_calls`: one row per id an `/api/application/...` call sends (a
  `/users/${id}` or `/servers/${id}` URL segment, or a `user` in the body), with its
  provenance: `row` (a column of a row the code selected: table, column, the client's
  role), `request` (the request body or query), `auth` (the signed-in user), `literal`,
  `env` or `derived` (anything the rule cannot follow);
- `code_payment_checks`: Stripe calls that verify a payment (`*.retrieve` of a session,
  payment intent, subscription, invoice or charge; a webhook's `constructEvent`).

Rules only record; the attack-path checks in areas 2 and 4 judge.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import env_name_of, query_table
from ..ts.scope import local_function, resolve_value, trace
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
    walk,
)
from .common import resolve_import

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_panel_calls": {
        "path": S,
        "line": N,
        "function_slug": S,
        "method": S,
        "url": S,
        "field": S,  # 'url:users' | 'url:servers' | 'body:user'
        "body_keys": S,
        "id_expr": S,
        "origin": S,  # row | request | auth | user_metadata | literal | env | derived
        "table": S,
        "column": S,
        "source_line": N,
        "source_role": S,
    },
    "code_payment_checks": {"path": S, "line": N, "function_slug": S, "kind": S},
}
APP = "/api/application"
ID_SEGMENT = re.compile(r"/(users|servers)/$")
CASTS = frozenset({"Number", "parseInt", "String", "BigInt", "encodeURIComponent"})
STRIPE_OBJECTS = re.compile(r"(checkout\.sessions|paymentIntents|subscriptions|invoices|charges)$")
VERIFY_CALLS = frozenset({"constructEvent", "constructEventAsync", "verifyHeader"})
MAX_DEPTH = 8


def key_role(pf: ParsedFile, create: Node) -> str:
    """Role of a `createClient(url, key, options)` call."""
    args = call_args(create)
    if len(args) < 2:
        return "unknown"
    name = env_name_of(pf, args[1], {}) or ""
    key_text = name or text(resolve_value(pf, args[1]) or args[1])
    if len(args) > 2 and "Authorization" in text(resolve_value(pf, args[2]) or args[2]):
        return "user-jwt"
    if re.search(r"service[_-]?(role)?[_-]?key|service_role", key_text, re.I):
        return "service_role"
    if re.search(r"anon|publishable", key_text, re.I):
        return "anon"
    return "unknown"


def _create_call(node: Node | None) -> Node | None:
    node = unwrap(node)
    if node is not None and node.type == "await_expression" and node.named_children:
        node = unwrap(node.named_children[0])
    is_create = node is not None and node.type == "call_expression"
    if is_create and normalized(callee(node)).split(".")[-1] == "createClient":
        return node
    return None


class ClientRoles:
    """Roles of the clients every parsed file binds at its top (`export const admin =
    createClient(...)`), so an imported client is judged by its definition."""

    def __init__(self, files: list[ParsedFile]) -> None:
        self.by_file: dict[tuple[str, str], str] = {}
        self.paths = {pf.path for pf in files}
        for pf in files:
            for decl in pf.nodes("variable_declarator"):
                create = _create_call(decl.child_by_field_name("value"))
                name = decl.child_by_field_name("name")
                if create is not None and name is not None and name.type == "identifier":
                    self.by_file[(pf.path, text(name))] = key_role(pf, create)

    def imported(self, pf: ParsedFile, ident: Node) -> str:
        name = text(ident)
        node = ident
        while node is not None and node.type != "import_statement":
            node = node.parent
        source = string_value(node.child_by_field_name("source")) if node else None
        path = resolve_import(pf.path, source, self.paths) if source else None
        return self.by_file.get((path, name), "unknown") if path else "unknown"


NO_ROLES = ClientRoles([])


def client_role(pf: ParsedFile, node: Node | None, roles: ClientRoles = NO_ROLES) -> str:
    """Role of the client a query chain starts from (`admin.from(...)`)."""
    node = unwrap(node)
    while node is not None and node.type in {"call_expression", "member_expression"}:
        create = _create_call(node)
        if create is not None:
            return key_role(pf, create)
        node = unwrap(
            callee(node) if node.type == "call_expression" else node.child_by_field_name("object")
        )
    if node is None or node.type != "identifier":
        return "unknown"
    binding = trace(pf, text(node), node)
    if binding is None:
        return "unknown"
    if binding.kind == "import":
        return roles.imported(pf, binding.node)
    create = _create_call(binding.value)
    if create is not None:
        return key_role(pf, create)
    if binding.value is not None and unwrap(binding.value).type == "identifier":
        return client_role(pf, binding.value, roles)
    return "unknown"


def _query_source(pf: ParsedFile, value: Node | None) -> Node | None:
    """The select chain a value is awaited from (`await db.from('t').select('c')...`)."""
    value = unwrap(value)
    if value is not None and value.type == "await_expression" and value.named_children:
        value = unwrap(value.named_children[0])
    if value is None or value.type != "call_expression":
        return None
    is_query, table = query_table(value)
    return value if is_query and table and ".select(" in normalized(value) else None


def _select_of(chain: Node) -> str | None:
    for node in walk(chain):
        if node.type == "call_expression" and call_property(node) == "select":
            args = call_args(node)
            return string_value(args[0]) if args else "*"
    return None


Origin = dict


USER_WRITABLE_AUTH = frozenset({"user_metadata", "raw_user_meta_data"})


def id_origin(
    pf: ParsedFile, node: Node | None, roles: ClientRoles, path: tuple = (), depth: int = 0
) -> Origin:
    """Where an id comes from (see the module docstring); `path` is the member path read
    off the value so far (`data.c` -> ('data', 'c'))."""
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return {"origin": "derived"}
    again = lambda n, p=path: id_origin(pf, n, roles, p, depth + 1)  # noqa: E731
    if literal_value(node) is not None and not path:
        return {"origin": "literal"}
    if env_name_of(pf, node, {}) and not path:
        return {"origin": "env"}
    if node.type == "template_string":
        subs = [c for c in node.named_children if c.type == "template_substitution"]
        return again(subs[0].named_children[0]) if len(subs) == 1 else {"origin": "derived"}
    if node.type == "call_expression" and normalized(callee(node)) in CASTS:
        args = call_args(node)
        return again(args[0] if args else None)
    if node.type == "binary_expression" and text(node.child_by_field_name("operator")) in {
        "??",
        "||",
    }:
        return again(node.child_by_field_name("left"))
    if node.type in {"member_expression", "subscript_expression"}:
        obj, key = member_parts(node)
        keys = () if key is None or key.isdigit() else (key,)
        return again(obj, keys + path)
    query = _query_source(pf, node)
    if query is not None:
        keys = [k for k in path if k not in {"data"}]
        _, table = query_table(query)
        spec = _select_of(query)
        column = keys[0] if keys else None
        from .table_uses import select_columns

        listed = select_columns(spec or "")
        if column is None or (spec and spec.strip() != "*" and column not in listed):
            return {"origin": "derived"}
        return {
            "origin": "row",
            "table": table,
            "column": column,
            "source_line": line(query),
            "source_role": client_role(pf, query, roles),
        }
    if node.type == "await_expression" and node.named_children:
        return again(node.named_children[0])
    if node.type == "call_expression":
        chain = normalized(callee(node))
        if ".auth.getUser" in f".{chain}":
            # user_metadata is the user's own to set (auth.updateUser({ data })): an id
            # kept there is chosen by the customer; app_metadata only the service role sets
            if any(k in USER_WRITABLE_AUTH for k in path):
                return {"origin": "user_metadata", "source_line": line(node)}
            return {"origin": "auth"}
        if re.search(r"\.(json|formData)$|searchParams\.get$", chain):
            return {"origin": "request"}
        fn = local_function(pf, node)
        if fn is not None:  # a helper's return value: `await panelIdOf(user.id)`
            for ret in (n for n in walk(fn) if n.type == "return_statement"):
                found = again(ret.named_children[0] if ret.named_children else None)
                if found["origin"] == "row":
                    return found
        return {"origin": "derived"}
    if node.type in {"identifier", "shorthand_property_identifier"}:
        binding = trace(pf, text(node), node)
        if binding is None or binding.value is None:
            return {"origin": "request" if binding and binding.kind == "param" else "derived"}
        return again(binding.value, tuple(binding.key_path) + path)
    return {"origin": "derived"}


def _url(pf: ParsedFile, call: Node) -> tuple[Node, str] | None:
    """(url node, path template from /api/application) of a panel application call:
    `fetch(`${PANEL}/api/application/users/${id}`)` or a same-file helper that prefixes
    the application API (`panel(`/users/${id}`, init)`)."""
    args = call_args(call)
    if not args:
        return None
    url = unwrap(args[0])
    if url is None or url.type not in {"string", "template_string", "binary_expression"}:
        return None
    raw = "".join(
        text(p).strip("`'\"") if p.type in {"string", "template_string"} else f"${{{text(p)}}}"
        for p in _pieces(url)
    )
    if APP in raw:
        return url, raw[raw.index(APP) :]
    fn = local_function(pf, call)
    if fn is not None and APP in text(fn) and raw.startswith("/") and "/client/" not in raw:
        return url, APP + raw
    return None


def _pieces(url: Node) -> list[Node]:
    """Operands of a `+` concatenation, in order (the node itself otherwise)."""
    url = unwrap(url)
    if url.type == "binary_expression" and text(url.child_by_field_name("operator")) == "+":
        return _pieces(url.child_by_field_name("left")) + _pieces(url.child_by_field_name("right"))
    return [url]


def _method_and_body(pf: ParsedFile, call: Node) -> tuple[str, Node | None]:
    args = call_args(call)
    init = resolve_value(pf, args[1]) if len(args) > 1 else None
    if init is None or init.type != "object":
        return "GET", None
    method = (string_value(property_value(init, "method")[0]) or "GET").upper()
    body = unwrap(property_value(init, "body")[0])
    if (
        body is not None
        and body.type == "call_expression"
        and normalized(callee(body)) in {"JSON.stringify"}
    ):
        body = call_args(body)[0] if call_args(body) else None
    body = resolve_value(pf, body)
    return method, body if body is not None and body.type == "object" else None


def panel_calls(pf: ParsedFile, roles: ClientRoles = NO_ROLES) -> list[dict]:
    """One row per id a panel application-API call sends, with its provenance."""
    rows = []
    for call in pf.nodes("call_expression"):
        found = _url(pf, call)
        if found is None:
            continue
        url, template = found
        method, body = _method_and_body(pf, call)
        keys = [k for k, _, _ in object_properties(body)] if body is not None else []
        base = {
            "path": pf.path,
            "line": line(call),
            "function_slug": pf.function_slug,
            "method": method,
            "url": re.sub(r"\$\{([^}]*)\}", r"{\1}", template),
            "body_keys": ",".join(keys),
        }
        ids: list[tuple[str, Node]] = []
        before = ""
        for piece in _pieces(url):
            if piece.type == "string":
                before += string_value(piece) or ""
                continue
            parts = piece.children if piece.type == "template_string" else [piece]
            for child in parts:
                if piece.type == "template_string" and child.type != "template_substitution":
                    before += text(child).strip("`")
                    continue
                value = child.named_children[0] if child is not piece else child
                seg = ID_SEGMENT.search(before)
                if seg:
                    ids.append((f"url:{seg.group(1)}", value))
                before += "{}"
        if body is not None:
            value, prop = property_value(body, "user")
            if prop is not None:
                ids.append(("body:user", value if value is not None else prop))
        for field, node in ids:
            origin = id_origin(pf, node, roles)
            rows.append({**base, "field": field, "id_expr": text(node)[:80], **origin})
    return rows


def payment_checks(pf: ParsedFile) -> list[dict]:
    """Stripe calls that confirm a payment with Stripe itself."""
    rows = []
    for call in pf.nodes("call_expression"):
        prop = call_property(call)
        fn = unwrap(callee(call))
        obj = (
            normalized(fn.child_by_field_name("object"))
            if fn is not None and (fn.type == "member_expression")
            else ""
        )
        kind = None
        if prop == "retrieve" and STRIPE_OBJECTS.search(obj):
            kind = f"retrieve:{obj.split('.')[-1]}"
        elif prop in VERIFY_CALLS:
            kind = "signature"
        if kind:
            rows.append(
                {
                    "path": pf.path,
                    "line": line(call),
                    "function_slug": pf.function_slug,
                    "kind": kind,
                }
            )
    return rows
