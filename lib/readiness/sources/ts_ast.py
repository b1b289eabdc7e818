"""Generic tree-sitter helpers for TypeScript/JavaScript, shared by every code rule.

Rules must work on any reasonably written project, so they look at syntax trees, not
text. Each file is parsed once into a `ParsedFile`, which keeps a node-type index and
a binding table so that rules never re-walk the tree or re-parse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath

import tree_sitter_typescript as tsts
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

TS_EXTENSIONS = {".ts", ".mts", ".cts"}
TSX_EXTENSIONS = {".tsx", ".jsx", ".js", ".mjs", ".cjs"}
CODE_EXTENSIONS = TS_EXTENSIONS | TSX_EXTENSIONS

FUNCTION_TYPES = frozenset({
    "function_declaration", "function_expression", "arrow_function", "method_definition",
    "generator_function_declaration", "generator_function", "function",
})
SCOPE_TYPES = FUNCTION_TYPES | {"statement_block", "program", "for_statement",
                                "for_in_statement", "class_body", "switch_body", "catch_clause"}
# Wrappers that do not change which value an expression denotes.
TRANSPARENT_TYPES = frozenset({
    "parenthesized_expression", "non_null_expression", "as_expression", "satisfies_expression",
    "type_assertion", "await_expression",
})


@lru_cache(maxsize=2)
def _language(name: str) -> Language:
    """Languages are loaded once; 'tsx' also parses plain JavaScript with JSX."""
    raw = tsts.language_tsx() if name == "tsx" else tsts.language_typescript()
    return Language(raw)


@lru_cache(maxsize=2)
def _parser(name: str) -> Parser:
    return Parser(_language(name))


def language_name_for(path: str) -> str | None:
    """'typescript', 'tsx' or None when the extension is not code we parse."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in TS_EXTENSIONS:
        return "typescript"
    if suffix in TSX_EXTENSIONS:
        return "tsx"
    return None


@dataclass(frozen=True)
class Binding:
    """One place a name is bound: declaration, parameter, function, import or assignment."""

    name: str
    kind: str  # 'var' | 'param' | 'function' | 'import' | 'assign'
    node: Node  # the identifier that is bound
    value: Node | None  # initializer / function node / assigned value
    key_path: tuple[str, ...]  # path inside a destructuring pattern, e.g. ('data',)
    scope: Node


@dataclass
class ParsedFile:
    """A parsed source file plus lazily built indexes (built at most once)."""

    path: str
    source: bytes
    tree: Tree
    language: str
    function_slug: str | None = None
    _index: dict[str, list[Node]] | None = field(default=None, repr=False)
    _bindings: dict[str, list[Binding]] | None = field(default=None, repr=False)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def nodes(self, *types: str) -> list[Node]:
        """All named nodes of the given types, in source order."""
        if self._index is None:
            self._index = _build_index(self.root)
        if len(types) == 1:
            return self._index.get(types[0], [])
        key = "|".join(types)  # combined lists are cached under their joined type names
        if key not in self._index:
            found = [n for t in types for n in self._index.get(t, [])]
            self._index[key] = sorted(found, key=lambda n: n.start_byte)
        return self._index[key]

    def bindings(self, name: str) -> list[Binding]:
        if self._bindings is None:
            self._bindings = _collect_bindings(self)
        return self._bindings.get(name, [])


def parse_source(path: str, source: bytes, function_slug: str | None = None) -> ParsedFile:
    """Parse source bytes with the grammar chosen by the path's extension."""
    lang = language_name_for(path) or "typescript"
    tree = _parser(lang).parse(source)
    return ParsedFile(path=path, source=source, tree=tree, language=lang,
                      function_slug=function_slug)


def first_syntax_error(root: Node) -> str | None:
    """Describe the first ERROR/MISSING node, or None when the tree is clean."""
    if not root.has_error:
        return None
    node = root
    while True:
        if node.type == "ERROR" or node.is_missing:
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            return f"{what} at line {line(node)}"
        nxt = next((c for c in node.children if c.has_error or c.is_missing), None)
        if nxt is None:
            return f"syntax error at line {line(node)}"
        node = nxt


def _build_index(root: Node) -> dict[str, list[Node]]:
    """One pre-order traversal with a cursor (the fastest way through a tree)."""
    index: dict[str, list[Node]] = defaultdict(list)
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None and node.is_named:
            index[node.type].append(node)
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return index


@lru_cache(maxsize=64)
def _query(lang: str, pattern: str) -> Query:
    return Query(_language(lang), pattern)


def query_matches(
    pf: ParsedFile, pattern: str, node: Node | None = None
) -> list[dict[str, list[Node]]]:
    """Run a tree-sitter query (compiled once per pattern) and return its capture dicts."""
    cursor = QueryCursor(_query(pf.language, pattern))
    return [caps for _, caps in cursor.matches(node or pf.root)]


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def line(node: Node) -> int:
    """1-based line of the node's first character."""
    return node.start_point.row + 1


def contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def unwrap(node: Node | None) -> Node | None:
    """Strip parentheses, `!`, `as T`, `satisfies T`, `<T>x` and `await`."""
    while node is not None and node.type in TRANSPARENT_TYPES:
        node = node.named_children[0] if node.named_children else None
    return node


def string_value(node: Node | None) -> str | None:
    """Value of a '..', "..", or substitution-free `..` literal; None otherwise."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "string":
        return text(node)[1:-1]
    if node.type == "template_string" and not any(
        c.type == "template_substitution" for c in node.named_children
    ):
        return text(node)[1:-1]
    return None


def literal_value(node: Node | None) -> str | None:
    """String, number, boolean or null literal as text (strings without quotes)."""
    node = unwrap(node)
    if node is None:
        return None
    value = string_value(node)
    if value is not None:
        return value
    if node.type in {"number", "true", "false", "null"}:
        return text(node)
    return None


def normalized(node: Node | None) -> str:
    """Source text without whitespace, `?.` as `.`, no `!`: for matching callee chains."""
    raw = "".join(text(node).split())
    return raw.replace("?.", ".").replace("!", "")


def callee(call: Node) -> Node | None:
    return call.child_by_field_name("function")


def call_property(call: Node) -> str | None:
    """Last name of a callee: 'create' for `stripe.checkout.sessions.create(...)`."""
    fn = unwrap(callee(call))
    if fn is None:
        return None
    if fn.type == "identifier":
        return text(fn)
    if fn.type == "member_expression":
        return text(fn.child_by_field_name("property"))
    return None


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    return [a for a in args.named_children if a.type != "comment"]


def member_parts(node: Node) -> tuple[Node | None, str | None]:
    """(object, property name) of `a.b`, `a?.b` or `a['b']`; (None, None) otherwise."""
    if node.type == "member_expression":
        return node.child_by_field_name("object"), text(node.child_by_field_name("property"))
    if node.type == "subscript_expression":
        return node.child_by_field_name("object"), string_value(node.child_by_field_name("index"))
    return None, None


def root_identifier(node: Node | None) -> Node | None:
    """Leftmost identifier of `a.b[c].d()`: the value the expression is derived from."""
    node = unwrap(node)
    while node is not None:
        if node.type in {"identifier", "shorthand_property_identifier"}:
            return node
        if node.type in {"member_expression", "subscript_expression"}:
            node = unwrap(node.child_by_field_name("object"))
        elif node.type == "call_expression":
            node = unwrap(callee(node))
        else:
            return None
    return None


def object_properties(obj: Node) -> Iterator[tuple[str, Node | None, Node]]:
    """(key, value, property node) of an object literal; shorthand gives value None.

    Spreads yield ('*spread*', argument, node); computed keys yield ('*computed*', ...).
    """
    for prop in obj.named_children:
        if prop.type == "pair":
            key_node = prop.child_by_field_name("key")
            key = string_value(key_node) if key_node.type == "string" else text(key_node)
            if key_node.type == "computed_property_name":
                key = "*computed*"
            yield key, prop.child_by_field_name("value"), prop
        elif prop.type == "shorthand_property_identifier":
            yield text(prop), None, prop
        elif prop.type == "spread_element":
            yield "*spread*", prop.named_children[0] if prop.named_children else None, prop
        elif prop.type == "method_definition":
            yield text(prop.child_by_field_name("name")), prop, prop


def property_value(obj: Node, key: str) -> tuple[Node | None, Node | None]:
    """(value, property node) of `key` in an object literal; shorthand value is the key node."""
    for name, value, prop in object_properties(obj):
        if name == key:
            return (value if value is not None else prop), prop
    return None, None


def enclosing(node: Node, types: frozenset[str] | set[str]) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type not in types:
        parent = parent.parent
    return parent


def enclosing_function(node: Node) -> Node | None:
    return enclosing(node, FUNCTION_TYPES)


def function_name(fn: Node) -> str | None:
    """Name a function is callable by in its file: declaration, `const f = () =>`, method."""
    name = fn.child_by_field_name("name")
    if name is not None and fn.type != "function_expression":
        return text(name)
    parent = fn.parent
    while parent is not None and parent.type in TRANSPARENT_TYPES:
        parent = parent.parent
    if parent is not None and parent.type == "variable_declarator":
        target = parent.child_by_field_name("name")
        if target is not None and target.type == "identifier":
            return text(target)
    if parent is not None and parent.type == "pair":
        return text(parent.child_by_field_name("key"))
    return text(name) if name is not None else None


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
        b for b in pf.bindings(name)
        if b.kind != "assign" and contains(b.scope, at)
        and (b.kind in {"function", "import", "param"} or b.node.start_byte <= at.start_byte)
    ]
    if not candidates:
        fallback = [b for b in pf.bindings(name) if b.kind != "param"]
        return fallback[0] if fallback else None
    best = min(candidates,
               key=lambda b: (b.scope.end_byte - b.scope.start_byte, -b.node.start_byte))
    if best.value is None and best.kind == "var":
        assigns = [b for b in pf.bindings(name) if b.kind == "assign"
                   and best.node.start_byte < b.node.start_byte < at.start_byte]
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
