"""Pterodactyl facts from the code: the per-game egg map, the environment and docker image
sent when a server is created (and where its owner and allocation ids come from,
`panel_ids.py`), the statuses the capacity query counts, and writes to
panel users (a password sent to an existing user resets it).

The server-create payload is found by its shape (an object literal with `egg` and one of
`environment`, `docker_image`, `limits`, `allocation`, `startup`), and per-game values are
followed through lookups such as `EGGS[game]`, `const rt = RUNTIMES[game]; rt.environment`
or `const { egg } = GAMES[game]` to the object literals that hold them.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import query_table
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    literal_value,
    normalized,
    object_properties,
    property_value,
    string_value,
    text,
    unwrap,
)
from .panel_ids import id_fields

PAYLOAD_KEYS = frozenset({"environment", "docker_image", "limits", "allocation", "startup"})
USERS_URL = re.compile(r"/users(?:[/?`'\"]|\$\{|$)")
PerKey = list[tuple[str, Node]]


def _pairs(obj: Node) -> PerKey:
    return [
        (k, v if v is not None else p)
        for k, v, p in object_properties(obj)
        if not k.startswith("*")
    ]


def per_game(pf: ParsedFile, node: Node | None, depth: int = 0) -> PerKey | None:
    """(game, value node) pairs for a value chosen per game; ('*', node) for one value
    shared by every game; None when it cannot be followed to literals."""
    node = unwrap(node)
    if node is None or depth > 6:
        return None
    if literal_value(node) is not None or node.type in {"object", "array"}:
        return [("*", node)]
    if node.type == "binary_expression" and text(node.child_by_field_name("operator")) in {
        "??",
        "||",
    }:
        return per_game(pf, node.child_by_field_name("left"), depth + 1)
    if node.type == "subscript_expression":
        obj = resolve_value(pf, node.child_by_field_name("object"))
        index = string_value(node.child_by_field_name("index"))
        if obj is not None and obj.type == "object":
            pairs = _pairs(obj)
            return [p for p in pairs if p[0] == index] if index is not None else pairs
        return None
    if node.type == "member_expression":
        prop = text(node.child_by_field_name("property"))
        inner = per_game(pf, node.child_by_field_name("object"), depth + 1)
        return _pick(pf, inner, (prop,))
    if node.type in {"identifier", "shorthand_property_identifier"}:
        binding = trace(pf, text(node), node)
        if binding is None or binding.value is None or binding.kind == "param":
            return None
        inner = per_game(pf, binding.value, depth + 1)
        return _pick(pf, inner, binding.key_path) if binding.key_path else inner
    return None


def _pick(pf: ParsedFile, inner: PerKey | None, path: tuple[str, ...]) -> PerKey | None:
    if inner is None:
        return None
    out = []
    for game, value in inner:
        for key in path:
            obj = resolve_value(pf, value)
            value = (
                property_value(obj, key)[0] if obj is not None and obj.type == "object" else None
            )
            if value is None:
                break
        if value is not None:
            out.append((game, value))
    return out or None


def _payloads(pf: ParsedFile) -> list[Node]:
    return [
        obj
        for obj in pf.nodes("object")
        if "egg" in (keys := {k for k, _, _ in object_properties(obj)}) and keys & PAYLOAD_KEYS
    ]


def _env_names(pf: ParsedFile, value: Node) -> dict[str, list[str]] | None:
    """Game -> environment variable names sent ('*' = the same for every game)."""
    obj = resolve_value(pf, value)
    if obj is None or obj.type != "object":
        return None
    shared = [k for k, _ in _pairs(obj)]
    per: dict[str, list[str]] = {}
    for key, arg, _ in object_properties(obj):
        if key != "*spread*":
            continue
        spread = per_game(pf, arg)
        if spread is None:
            return None
        for game, inner in spread:
            inner_obj = resolve_value(pf, inner)
            if inner_obj is None or inner_obj.type != "object":
                return None
            per.setdefault(game, []).extend(k for k, _ in _pairs(inner_obj))
    if not per:
        return {"*": shared}
    return {game: sorted(set(keys) | set(shared)) for game, keys in per.items()}


def egg_map(pf: ParsedFile) -> list[dict]:
    """game -> egg id, as the server-create payload chooses it."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug}
    for payload in _payloads(pf):
        value, _ = property_value(payload, "egg")
        pairs = per_game(pf, value) or []
        for game, node in pairs:
            raw = literal_value(node)
            rows.append(
                {
                    **base,
                    "line": line(node),
                    "game": game,
                    "egg_id": int(raw) if raw is not None and raw.isdigit() else None,
                    "egg_expr": text(node),
                }
            )
    return rows


def server_payload(pf: ParsedFile) -> list[dict]:
    """Per game: every environment variable and the docker image the payload sends."""
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug}
    for payload in _payloads(pf):
        env_value, env_prop = property_value(payload, "environment")
        if env_prop is not None:
            per_env = per_game(pf, env_value)
            names: dict[str, list[str]] | None = {}
            for game, node in per_env or []:
                found = _env_names(pf, node)
                if found is None:
                    names = None
                    break
                for g, keys in found.items():
                    names[game if g == "*" else g] = keys
            if not per_env or names is None:
                rows.append(
                    {
                        **base,
                        "line": line(env_prop),
                        "game": "*",
                        "field": "environment",
                        "value": None,
                        "resolved": False,
                    }
                )
            else:
                for game, keys in names.items():
                    rows += [
                        {
                            **base,
                            "line": line(env_prop),
                            "game": game,
                            "field": "environment",
                            "value": k,
                            "resolved": True,
                        }
                        for k in keys
                    ]
        img_value, img_prop = property_value(payload, "docker_image")
        if img_prop is not None:
            per_img = per_game(pf, img_value)
            for game, node in per_img or [("*", img_value)]:
                image = string_value(node) if per_img else None
                rows.append(
                    {
                        **base,
                        "line": line(node if per_img else img_prop),
                        "game": game,
                        "field": "docker_image",
                        "value": image,
                        "resolved": image is not None,
                    }
                )
    return rows


def _chain_top(node: Node) -> Node:
    while node.parent is not None and node.parent.type in {
        "member_expression",
        "call_expression",
        "await_expression",
        "non_null_expression",
    }:
        node = node.parent
    return node


def capacity_queries(pf: ParsedFile) -> list[dict]:
    """`.from('orders').select(...).in('status', [...])` reads that count RAM per node."""
    rows = []
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if call_property(call) != "in" or len(args) < 2 or string_value(args[0]) != "status":
            continue
        is_query, table = query_table(unwrap(callee(call)))
        chain = normalized(_chain_top(call))
        if not is_query or not table or "order" not in table or ".select(" not in chain:
            continue
        if any(f".{m}(" in chain for m in ("update", "delete", "insert", "upsert")):
            continue
        if "node" not in chain.lower() and "ram" not in chain.lower():
            continue
        array = resolve_value(pf, args[1])
        values = (
            [string_value(e) for e in array.named_children]
            if array is not None and (array.type == "array")
            else None
        )
        resolved = values is not None and all(v is not None for v in values)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "table": table,
                "statuses": ",".join(v for v in values if v) if resolved else None,
                "resolved": resolved,
            }
        )
    return rows


def _body_keys(pf: ParsedFile, init: Node | None) -> list[str] | None:
    if init is None or init.type != "object":
        return None
    body, _ = property_value(init, "body")
    body = unwrap(body)
    if (
        body is not None
        and body.type == "call_expression"
        and normalized(callee(body)) == "JSON.stringify"
    ):
        args = call_args(body)
        body = args[0] if args else None
    obj = resolve_value(pf, body)
    if obj is None or obj.type != "object":
        return None
    return [k for k, _, _ in object_properties(obj)]


def panel_user_writes(pf: ParsedFile) -> list[dict]:
    """Requests with a method to the panel's `/users` endpoints, and whether they send a
    password (a PATCH/PUT of an existing user with one resets that user's password)."""
    rows = []
    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if len(args) < 2 or not USERS_URL.search(text(args[0])):
            continue
        init = resolve_value(pf, args[1])
        method_node = (
            property_value(init, "method")[0]
            if init is not None and (init.type == "object")
            else None
        )
        method = (string_value(method_node) or "").upper()
        if method not in {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        keys = _body_keys(pf, init)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "method": method,
                "url_expr": text(args[0]),
                "existing_user": bool(re.search(r"/users/(\$\{|\d)", text(args[0]))),
                "body_keys": ",".join(keys) if keys is not None else None,
                "sends_password": keys is not None and "password" in keys,
            }
        )
    return rows


def facts(pf: ParsedFile) -> dict[str, list[dict]]:
    """Every panel table for one file viewed as part of one function."""
    return {
        "code_flow_egg_map": egg_map(pf),
        "code_flow_server_payload": server_payload(pf) + id_fields(pf, _payloads(pf)),
        "code_flow_capacity_queries": capacity_queries(pf),
        "code_flow_panel_user_writes": panel_user_writes(pf),
    }
