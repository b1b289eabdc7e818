"""What HTTP status (and whether JSON) a response expression answers with.

Split from the error-handling rules because it resolves responses across the whole
checkout (`new Response`, `Response.json`, and project helpers such as
`jsonResponse(body, 500)`), which the catch, handler and failed-write rules share.
"""

from __future__ import annotations

from tree_sitter import Node

from .scope import resolve_value
from .syntax import (
    ParsedFile,
    call_args,
    callee,
    enclosing_function,
    normalized,
    object_properties,
    text,
    unwrap,
)


def _returned(pf: ParsedFile) -> list[tuple[Node, Node]]:
    """(function, returned value) for every return statement and arrow-function body."""
    pairs = [
        (enclosing_function(r), r.named_children[0] if r.named_children else None)
        for r in pf.nodes("return_statement")
    ] + [(fn, fn.child_by_field_name("body")) for fn in pf.nodes("arrow_function")]
    out = []
    for fn, value in pairs:
        value = unwrap(value)
        if fn is not None and value is not None:
            out.append((fn, value))
    return out


class Responses:
    """HTTP status and JSON-ness of `new Response(...)`, `Response.json` and helpers that
    return one (`jsonResponse(body, 500)`), across every parsed file of the checkout."""

    def __init__(self, files: list[ParsedFile]) -> None:
        self.helpers: dict[str, tuple[int | None, int, bool]] = {}
        # `const ERROR_CODE = { BAD_REQUEST: 400 }` anywhere: `ERROR_CODE.BAD_REQUEST` → 400
        self.constants: dict[str, int] = {}
        for pf in files:
            for decl in pf.nodes("variable_declarator"):
                value = unwrap(decl.child_by_field_name("value"))
                if value is not None and value.type == "object":
                    owner = text(decl.child_by_field_name("name"))
                    for key, item, _ in object_properties(value):
                        number = _int(item)
                        if key and number is not None:
                            self.constants.setdefault(f"{owner}.{key}", number)
        # what every function returns (return statements and arrow bodies), read once
        returns = {pf.path: _returned(pf) for pf in files}
        for pf in files:
            for fn, value in returns[pf.path]:
                if value.type != "new_expression":
                    continue
                name = _function_name(fn)
                got = self._new_response(pf, value, fn)
                if name and got is not None:
                    self.helpers.setdefault(name, got)
        for _ in range(2):  # builders that delegate: `errorResponse(m) => json({m}, 500)`
            for pf in files:
                self._delegating_builders(pf, returns[pf.path])
        # wrappers passing their own status on: `ok = (d, status = 200) => json(d, { status })`
        for pf in files:
            for fn, value in returns[pf.path]:
                name = _function_name(fn)
                if not name or name in self.helpers:
                    continue
                got = self._wrapped_helper(pf, value, fn)
                if got is not None:
                    self.helpers[name] = got

    def _delegating_builders(self, pf: ParsedFile, returns: list[tuple[Node, Node]]) -> None:
        """Named functions returning `Response.json(...)` or another known builder's call:
        their status is that call's (a literal, or one of their own parameters)."""
        for fn, value in returns:
            name = _function_name(fn)
            if not name or name in self.helpers or value.type != "call_expression":
                continue
            got = self.status_of(pf, value)
            if got is None:
                continue
            status, is_json = got
            if status is not None:
                self.helpers[name] = (None, status, is_json)
                continue
            index = self._status_param(pf, value, fn)
            if index is not None:
                self.helpers[name] = (index[0], index[1], is_json)

    def _status_param(self, pf: ParsedFile, call: Node, fn: Node) -> tuple[int, int] | None:
        """(parameter index, default) when the delegated status is one of fn's parameters."""
        chain, args = normalized(callee(call)), call_args(call)
        arg = None
        if chain == "Response.json" and len(args) > 1:
            init = resolve_value(pf, args[1])
            pairs = object_properties(init) if init is not None and init.type == "object" else []
            for key, value, prop in pairs:
                if key == "status":
                    arg = unwrap(value if value is not None else prop)
        else:
            inner = self.helpers.get(chain.rsplit(".", 1)[-1])
            if inner is None or inner[0] is None or inner[0] >= len(args):
                return None
            arg = unwrap(args[inner[0]])
        params = fn.child_by_field_name("parameters")
        for i, p in enumerate(params.named_children if params else []):
            pattern = p.child_by_field_name("pattern")
            if pattern is not None and arg is not None and text(pattern) == text(arg):
                default = _int(p.child_by_field_name("value"))
                return i, default if default is not None else 200
        return None

    def _wrapped_helper(
        self, pf: ParsedFile, call: Node, fn: Node
    ) -> tuple[int | None, int, bool] | None:
        """A function that returns a known helper's response, passing its own status on."""
        if call.type != "call_expression":
            return None
        inner = self.helpers.get(normalized(callee(call)).rsplit(".", 1)[-1])
        if inner is None:
            return None
        index, default, is_json = inner
        args = call_args(call)
        if index is None or index >= len(args):
            return None, default, is_json
        status_node = unwrap(args[index])
        if status_node is not None and status_node.type == "object":
            found = [
                v if v is not None else p
                for k, v, p in object_properties(status_node)
                if k == "status"
            ]
            status_node = found[0] if found else None
        if status_node is None:
            return None, default, is_json
        number = _int(status_node)
        if number is not None:
            return None, number, is_json
        params = fn.child_by_field_name("parameters")
        for i, p in enumerate(params.named_children if params else []):
            pattern = p.child_by_field_name("pattern")
            if pattern is not None and text(pattern) == text(status_node):
                fallback = _int(p.child_by_field_name("value"))
                return i, fallback if fallback is not None else 200, is_json
        return None

    def _new_response(
        self, pf: ParsedFile, node: Node, fn: Node | None
    ) -> tuple[int | None, int, bool] | None:
        """(index of the parameter holding the status, default status, json)."""
        if text(node.child_by_field_name("constructor")) != "Response":
            return None
        args = node.child_by_field_name("arguments")
        items = [a for a in (args.named_children if args else []) if a.type != "comment"]
        init = resolve_value(pf, items[1]) if len(items) > 1 else None
        is_json = "application/json" in text(node) or "JSON.stringify" in text(node)
        status_node = None
        spread = None  # `{ ...init, headers }`: the status is the caller's `init.status`
        if init is not None and init.type == "object":
            for key, value, prop in object_properties(init):
                if key == "status":
                    status_node = value if value is not None else prop
            for child in init.named_children:
                if child.type == "spread_element" and child.named_children:
                    spread = child.named_children[0]
        status = _int(status_node) if status_node is not None else 200
        if status_node is None and spread is not None and fn is not None:
            status_node = spread
            status = None
        if status is not None or fn is None:
            return None, status if status is not None else 200, is_json
        params = fn.child_by_field_name("parameters")
        for i, p in enumerate(params.named_children if params else []):
            pattern = p.child_by_field_name("pattern")
            if pattern is not None and text(pattern) == text(status_node):
                default = _int(p.child_by_field_name("value"))
                return i, default if default is not None else 200, is_json
        return None, 200, is_json

    def status_of(self, pf: ParsedFile, node: Node | None) -> tuple[int | None, bool] | None:
        """(status, json) of a response expression; None when it is not one we know."""
        node = unwrap(node)
        if node is None:
            return None
        if node.type == "new_expression":
            got = self._new_response(pf, node, None)
            return (got[1], got[2]) if got else None
        if node.type != "call_expression":
            return None
        chain, args = normalized(callee(node)), call_args(node)
        if chain == "Response.json":
            init = resolve_value(pf, args[1]) if len(args) > 1 else None
            status = 200
            if init is not None and init.type == "object":
                for key, value, _ in object_properties(init):
                    if key == "status":
                        status = _int(value)
            return status, True
        name = chain.rsplit(".", 1)[-1]
        if name in self.helpers:
            index, default, is_json = self.helpers[name]
            if index is not None and index < len(args):
                arg = resolve_value(pf, args[index])
                if arg is not None and arg.type == "object":  # json(body, { status: 500 })
                    found = [v for k, v, _ in object_properties(arg) if k == "status"]
                    return (_int(found[0]) if found else default), is_json
                got = _int(args[index])
                if got is None and arg is not None and arg.type == "member_expression":
                    got = self.constants.get(normalized(arg))
                return got, is_json
            return default, is_json
        return None


def _int(node: Node | None) -> int | None:
    node = unwrap(node)
    if node is not None and node.type == "ternary_expression":  # `cond ? 401 : 500`
        branches = [_int(node.child_by_field_name(f)) for f in ("consequence", "alternative")]
        return None if None in branches else min(b for b in branches if b is not None)
    if node is not None and node.type == "number":
        try:
            return int(text(node))
        except ValueError:
            return None
    return None


def _function_name(fn: Node) -> str | None:
    from .syntax import function_name

    return function_name(fn)
