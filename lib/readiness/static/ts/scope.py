"""Names and scopes on top of syntax.py: where an identifier is bound and what it holds.

Rules ask "where does this value come from?"; answering it means finding the binding
of a name visible at a point (declaration, destructuring, parameter, import, later
assignment) and following aliases. The binding table is built once per file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from .syntax import (
    FUNCTION_TYPES,
    SCOPE_TYPES,
    ParsedFile,
    callee,
    contains,
    enclosing,
    normalized,
    string_value,
    text,
    unwrap,
)


@dataclass(frozen=True)
class Binding:
    """One place a name is bound: declaration, parameter, function, import or assignment."""

    name: str
    kind: str  # 'var' | 'param' | 'function' | 'import' | 'assign'
    node: Node  # the identifier that is bound
    value: Node | None  # initializer / function node / assigned value
    key_path: tuple[str, ...]  # path inside a destructuring pattern, e.g. ('data',)
    scope: Node


def bindings(pf: ParsedFile, name: str) -> list[Binding]:
    """All bindings of `name` in the file (the table is built on first use, then shared)."""
    if pf._bindings is None:
        pf._bindings = _collect_bindings(pf)
    return pf._bindings.get(name, [])


def with_slug(pf: ParsedFile, slug: str | None) -> ParsedFile:
    """Same parsed tree viewed as part of another function (indexes are shared)."""
    if pf.function_slug == slug:
        return pf
    pf.nodes("program")
    bindings(pf, "")  # build both indexes once on the original, then share them
    view = ParsedFile(pf.path, pf.source, pf.tree, pf.language, slug)
    view._index, view._bindings = pf._index, pf._bindings
    return view


def pattern_names(
    pattern: Node, path: tuple[str, ...] = ()
) -> Iterator[tuple[Node, tuple[str, ...]]]:
    """Identifiers bound by a (possibly nested) destructuring pattern, with their key path."""
    t = pattern.type
    if t in {"identifier", "shorthand_property_identifier_pattern"}:
        yield pattern, path + ((text(pattern),) if t != "identifier" else ())
    elif t == "object_pattern":
        for child in pattern.named_children:
            if child.type == "shorthand_property_identifier_pattern":
                yield child, path + (text(child),)
            elif child.type == "pair_pattern":
                key = child.child_by_field_name("key")
                key_text = string_value(key) if key.type == "string" else text(key)
                yield from pattern_names(child.child_by_field_name("value"), path + (key_text,))
            elif child.type == "object_assignment_pattern":
                yield from pattern_names(child.child_by_field_name("left"), path)
            elif child.type == "rest_pattern" and child.named_children:
                yield from pattern_names(child.named_children[0], path + ("*rest*",))
    elif t == "array_pattern":
        for i, child in enumerate(pattern.named_children):
            yield from pattern_names(child, path + (f"[{i}]",))
    elif t in {"assignment_pattern", "object_assignment_pattern"}:
        left = pattern.child_by_field_name("left")
        if left is not None:
            yield from pattern_names(left, path)
    elif t == "rest_pattern" and pattern.named_children:
        yield from pattern_names(pattern.named_children[0], path + ("*rest*",))


def _collect_bindings(pf: ParsedFile) -> dict[str, list[Binding]]:
    """Every binding in the file by name, collected in one pass over the node index."""
    out: dict[str, list[Binding]] = defaultdict(list)

    def add(ident: Node, kind: str, value: Node | None, path: tuple[str, ...], scope: Node) -> None:
        out[text(ident)].append(Binding(text(ident), kind, ident, value, path, scope))

    root = pf.root
    for decl in pf.nodes("variable_declarator"):
        name = decl.child_by_field_name("name")
        scope = enclosing(decl, SCOPE_TYPES) or root
        for ident, path in pattern_names(name):
            add(ident, "var", decl.child_by_field_name("value"), path, scope)
    for assign in pf.nodes("assignment_expression"):
        left = unwrap(assign.child_by_field_name("left"))
        if left is not None and left.type == "identifier":
            add(left, "assign", assign.child_by_field_name("right"), (), root)
    for param in pf.nodes("required_parameter", "optional_parameter"):
        fn = enclosing(param, FUNCTION_TYPES) or root
        pattern = param.child_by_field_name("pattern")
        if pattern is not None:
            for ident, path in pattern_names(pattern):
                add(ident, "param", None, path, fn)
    for fn in pf.nodes("arrow_function"):  # `x => ...` has a bare identifier parameter
        param = fn.child_by_field_name("parameter")
        if param is not None and param.type == "identifier":
            add(param, "param", None, (), fn)
    for fn in pf.nodes("function_declaration", "generator_function_declaration"):
        name = fn.child_by_field_name("name")
        if name is not None:
            add(name, "function", fn, (), enclosing(fn, SCOPE_TYPES) or root)
    for spec in pf.nodes("import_specifier", "namespace_import", "import_clause"):
        idents = [c for c in spec.named_children if c.type == "identifier"]
        if idents:
            add(idents[-1], "import", None, (), root)
    return out


def trace(pf: ParsedFile, name: str, at: Node) -> Binding | None:
    """The binding of `name` visible at `at`: innermost scope, latest preceding declaration.

    An uninitialised `let x;` resolves to the latest `x = ...` before `at`. Falls back to
    any binding of the name in the file (e.g. used before declared in a hoisted function).
    """
    candidates = [
        b
        for b in bindings(pf, name)
        if b.kind != "assign"
        and contains(b.scope, at)
        and (b.kind in {"function", "import", "param"} or b.node.start_byte <= at.start_byte)
    ]
    if not candidates:
        fallback = [b for b in bindings(pf, name) if b.kind != "param"]
        return fallback[0] if fallback else None
    best = min(
        candidates, key=lambda b: (b.scope.end_byte - b.scope.start_byte, -b.node.start_byte)
    )
    if best.value is None and best.kind == "var":
        assigns = [
            b
            for b in bindings(pf, name)
            if b.kind == "assign" and best.node.start_byte < b.node.start_byte < at.start_byte
        ]
        if assigns:
            return assigns[-1]
    return best


def this_member_value(pf: ParsedFile, node: Node) -> Node | None:
    """Value of `this.x` / `this.#x`: its class field initializer or a `this.x = v` in the class."""
    if node.type != "member_expression":
        return None
    obj = node.child_by_field_name("object")
    body = enclosing(node, {"class_body"})
    if obj is None or obj.type != "this" or body is None:
        return None
    name = text(node.child_by_field_name("property"))
    for field_def in pf.nodes("public_field_definition"):
        if contains(body, field_def) and text(field_def.child_by_field_name("name")) == name:
            return field_def.child_by_field_name("value")
    for assign in pf.nodes("assignment_expression"):
        left = assign.child_by_field_name("left")
        if contains(body, assign) and normalized(left) == f"this.{name}":
            return assign.child_by_field_name("right")
    return None


def resolve_value(pf: ParsedFile, node: Node | None, depth: int = 6) -> Node | None:
    """Follow `x` (or `this.x`) to its initializer through plain aliases, a few hops."""
    node = unwrap(node)
    names = {"identifier", "shorthand_property_identifier"}
    while node is not None and depth > 0:
        if node.type == "member_expression":
            value = this_member_value(pf, node)
            if value is None:
                return node
            node, depth = unwrap(value), depth - 1
            continue
        if node.type not in names:
            return node
        binding = trace(pf, text(node), node)
        if binding is None or binding.value is None or binding.key_path:
            return node
        node = unwrap(binding.value)
        depth -= 1
    return node


def local_function(pf: ParsedFile, call: Node) -> Node | None:
    """The function node a call `f(...)` invokes when `f` is defined in the same file."""
    fn = unwrap(callee(call))
    if fn is None or fn.type != "identifier":
        return None
    binding = trace(pf, text(fn), call)
    if binding is None:
        return None
    value = unwrap(binding.value)
    if value is not None and value.type in FUNCTION_TYPES:
        return value
    return None
