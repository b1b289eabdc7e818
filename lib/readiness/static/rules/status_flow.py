"""Which order statuses the code writes, and where: directly in an insert/update/upsert
payload, or through same-file helpers such as `markError(id)` called with a literal.

Split from `flow.py` because the status tracker (`StatusFlow`) is shared by
the provisioning-exit rule there and reported on its own (`code_flow_status_writes`).
Rules only record; checks (area 2) decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import callers_in_file, query_table
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    function_name,
    line,
    property_value,
    string_value,
    text,
    unwrap,
)

WRITE_METHODS = frozenset({"insert", "update", "upsert"})


def _status_nodes(pf: ParsedFile, call: Node) -> list[Node]:
    """The `status` value nodes of an insert/update/upsert payload (objects or arrays)."""
    args = call_args(call)
    payload = resolve_value(pf, args[0]) if args else None
    objects = [payload] if payload is not None and payload.type == "object" else []
    if payload is not None and payload.type == "array":
        objects = [resolve_value(pf, e) for e in payload.named_children]
    out = []
    for obj in objects:
        if obj is not None and obj.type == "object":
            value, _ = property_value(obj, "status")
            if value is not None:
                out.append(value)
    return out


class StatusFlow:
    """Which calls set which order statuses, directly or through same-file helpers."""

    def __init__(self, pf: ParsedFile) -> None:
        self.pf = pf
        self.calls = pf.nodes("call_expression")
        # (write call, table, value or None, param index when the value is a parameter)
        self.writes: list[tuple[Node, str | None, str | None, int | None]] = []
        for call in self.calls:
            if call_property(call) not in WRITE_METHODS:
                continue
            is_query, table = query_table(unwrap(callee(call)))
            if not is_query:
                continue
            for value in _status_nodes(pf, call):
                self.writes.append((call, table, *self._value(value)))
        self._memo: dict[int, frozenset[str]] = {}

    def _value(self, node: Node) -> tuple[str | None, int | None]:
        literal = string_value(node)
        if literal is not None:
            return literal, None
        node = unwrap(node)
        if node is not None and node.type in {"identifier", "shorthand_property_identifier"}:
            binding = trace(self.pf, text(node), node)
            if binding is not None and binding.kind == "param":
                params = binding.scope.child_by_field_name("parameters")
                names = [
                    text(p.child_by_field_name("pattern"))
                    for p in (params.named_children if params else [])
                ]
                if binding.name in names:
                    return None, names.index(binding.name)
            if binding is not None and binding.value is not None and not binding.key_path:
                return string_value(binding.value), None
        return None, None

    def function_sets(self, fn: Node, stack: tuple[int, ...] = ()) -> frozenset[str]:
        """Literal statuses written anywhere inside `fn` (following local helper calls)."""
        key = fn.start_byte
        if key in stack or len(stack) > 5:
            return frozenset()
        if key not in self._memo:
            found: set[str] = set()
            for call in self.calls:
                if contains(fn, call) and call is not fn:
                    found |= self.call_sets(call, stack + (key,))
            self._memo[key] = frozenset(found)
        return self._memo[key]

    def call_sets(self, call: Node, stack: tuple[int, ...] = ()) -> frozenset[str]:
        """Statuses a call writes: a direct write, or a helper (with literal arguments)."""
        found = {v for c, _, v, _ in self.writes if c == call and v}
        fn = _local_function(self.pf, call)
        if fn is not None:
            found |= self.function_sets(fn, stack)
            args = call_args(call)
            for c, _, _, index in self.writes:
                if index is not None and contains(fn, c) and index < len(args):
                    value = string_value(args[index])
                    if value:
                        found.add(value)
        return frozenset(found)

    def node_sets(self, node: Node) -> frozenset[str]:
        """Statuses written by any call inside `node` (a statement or expression)."""
        found: set[str] = set()
        for call in self.calls:
            if contains(node, call):
                found |= self.call_sets(call)
        return frozenset(found)


def _local_function(pf: ParsedFile, call: Node) -> Node | None:
    fn = unwrap(callee(call))
    if fn is None or fn.type != "identifier":
        return None
    binding = trace(pf, text(fn), call)
    value = unwrap(binding.value) if binding is not None else None
    return value if value is not None and value.type in FUNCTION_TYPES else None


def status_writes(pf: ParsedFile, flow: StatusFlow | None = None) -> list[dict]:
    """Every literal status a call writes to a table (helpers reported at their call site)."""
    flow = flow or StatusFlow(pf)
    rows = []
    base = {"path": pf.path, "function_slug": pf.function_slug, "column": "status"}
    for call, table, value, index in flow.writes:
        if value is not None:
            rows.append(
                {**base, "line": line(call), "table": table, "value": value, "helper": None}
            )
        elif index is not None:
            fn = enclosing_function(call)
            for site in callers_in_file(pf, fn) if fn is not None else []:
                args = call_args(site)
                literal = string_value(args[index]) if index < len(args) else None
                if literal:
                    rows.append(
                        {
                            **base,
                            "line": line(site),
                            "table": table,
                            "value": literal,
                            "helper": function_name(fn),
                        }
                    )
    return sorted(rows, key=lambda r: r["line"])
