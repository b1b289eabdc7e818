"""Status facts from the TypeScript code (tree-sitter), for Areas 2 and 5.

- status literals written through `.from(t).update({status: ...})` / `.insert(...)` /
  `.upsert(...)`, including shorthand `{ status }` bound to a literal or a parameter typed
  with literal types (`status: 'canceled'`);
- the filters queries use (`.eq('status', 'paid')`, `.in('status', [...])`).

Split from `errors.py`: which states the code writes and reads is a topic of
its own (order lifecycle), separate from what it does when something fails.
Rules only record; checks decide what is wrong.
"""

from __future__ import annotations

from tree_sitter import Node

from ..ts.idioms import query_table, side_effect_kind
from ..ts.scope import resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    object_properties,
    string_value,
    text,
    unwrap,
)

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_status_writes": {
        "path": S,
        "line": N,
        "function_slug": S,
        "table": S,
        "column": S,
        "value": S,
        "method": S,
    },
    "code_query_filters": {
        "path": S,
        "line": N,
        "function_slug": S,
        "table": S,
        "column": S,
        "method": S,
        "value": S,
    },
}
WRITES = frozenset({"insert", "update", "upsert"})
FILTERS = frozenset({"eq", "neq", "in", "is", "not", "match"})


def _is_status_key(key: str | None) -> bool:
    return bool(key) and (key == "status" or key.endswith("_status"))


def literal_options(pf: ParsedFile, node: Node | None, depth: int = 0) -> list[str]:
    """String literals a value can be: a literal, a const of one, a ternary of them, a
    parameter typed `'a' | 'b'`, or an array of literals."""
    node = unwrap(node)
    if node is None or depth > 5:
        return []
    value = string_value(node)
    if value is not None:
        return [value]
    if node.type == "ternary_expression":
        return literal_options(
            pf, node.child_by_field_name("consequence"), depth + 1
        ) + literal_options(pf, node.child_by_field_name("alternative"), depth + 1)
    if node.type == "array":
        return [v for el in node.named_children for v in literal_options(pf, el, depth + 1)]
    if node.type in {"identifier", "shorthand_property_identifier"}:
        binding = trace(pf, text(node), node)
        if binding is None:
            return []
        if binding.kind == "param":
            param = binding.node.parent
            ann = param.child_by_field_name("type") if param is not None else None
            return [
                string_value(t.named_children[0]) or ""
                for t in _descendants(ann, "literal_type")
                if t.named_children and string_value(t.named_children[0]) is not None
            ]
        if binding.value is not None and not binding.key_path:
            return literal_options(pf, binding.value, depth + 1)
    return []


def _descendants(node: Node | None, kind: str) -> list[Node]:
    if node is None:
        return []
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == kind:
            out.append(n)
        stack.extend(n.named_children)
    return out


def status_writes(pf: ParsedFile) -> list[dict]:
    rows = []
    for call in pf.nodes("call_expression"):
        method = call_property(call)
        if method not in WRITES or side_effect_kind(call) != "db_write":
            continue
        _, table = query_table(callee(call))
        args = call_args(call)
        payload = resolve_value(pf, args[0]) if args else None
        objects = [payload] if payload is not None and payload.type == "object" else []
        if payload is not None and payload.type == "array":
            objects = [o for o in payload.named_children if o.type == "object"]
        for obj in objects:
            for key, value, prop in object_properties(obj):
                if not _is_status_key(key):
                    continue
                for lit in literal_options(pf, value if value is not None else prop):
                    rows.append(
                        {
                            "path": pf.path,
                            "line": line(prop),
                            "function_slug": pf.function_slug,
                            "table": table,
                            "column": key,
                            "value": lit,
                            "method": method,
                        }
                    )
    return rows


def query_filters(pf: ParsedFile) -> list[dict]:
    rows = []
    for call in pf.nodes("call_expression"):
        method = call_property(call)
        fn = unwrap(callee(call))
        if method not in FILTERS or fn is None or fn.type != "member_expression":
            continue
        is_query, table = query_table(fn.child_by_field_name("object"))
        args = call_args(call)
        column = string_value(args[0]) if args else None
        if not is_query or column is None:
            continue
        values = literal_options(pf, args[-1]) if len(args) > 1 else []
        base = {
            "path": pf.path,
            "line": line(call),
            "function_slug": pf.function_slug,
            "table": table,
            "column": column,
            "method": method,
        }
        rows += [{**base, "value": v} for v in values] or [{**base, "value": None}]
    return rows
