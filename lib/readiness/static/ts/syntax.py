"""Generic tree-sitter helpers for TypeScript/JavaScript, shared by every code rule.

Rules must work on any reasonably written project, so they look at syntax trees, not
text. Each file is parsed once into a `ParsedFile`, which keeps a node-type index so
that rules never re-walk the tree or re-parse. Names and scopes are in scope.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

import tree_sitter_typescript as tsts
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

TS_EXTENSIONS = {".ts", ".mts", ".cts"}
TSX_EXTENSIONS = {".tsx", ".jsx", ".js", ".mjs", ".cjs"}
CODE_EXTENSIONS = TS_EXTENSIONS | TSX_EXTENSIONS

FUNCTION_TYPES = frozenset(
    {
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
        "function",
    }
)
SCOPE_TYPES = FUNCTION_TYPES | {
    "statement_block",
    "program",
    "for_statement",
    "for_in_statement",
    "class_body",
    "switch_body",
    "catch_clause",
}
# Wrappers that do not change which value an expression denotes.
TRANSPARENT_TYPES = frozenset(
    {
        "parenthesized_expression",
        "non_null_expression",
        "as_expression",
        "satisfies_expression",
        "type_assertion",
        "await_expression",
    }
)


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


@dataclass
class ParsedFile:
    """A parsed source file plus lazily built indexes (built at most once)."""

    path: str
    source: bytes
    tree: Tree
    language: str
    function_slug: str | None = None
    _index: dict[str, list[Node]] | None = field(default=None, repr=False)
    # Filled by scope.bindings(); kept here so that every rule shares one table.
    _bindings: dict[str, list[Any]] | None = field(default=None, repr=False)

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


# A bare `&` in JSX text or in a JSX attribute string is valid (React renders it) but
# tree-sitter-typescript 0.23 rejects it (tree-sitter/tree-sitter-typescript#366 and
# #320, open): "Terms & Conditions" in UI copy or `href="/x?a=1&b=2"` made whole
# components unparsed. Such an `&` is the byte right after a jsx_text node, or the first
# byte of an ERROR inside an attribute's string, and not an entity; it is swapped for a
# '+' (same length, so every offset and line stays true) and the file parsed again, a
# bounded number of times.
ENTITY = re.compile(rb"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
MAX_JSX_AMPERSAND_FIXES = 64


def _jsx_text_ampersands(tree: Tree, source: bytes) -> list[int]:
    """Offsets of the `&` bytes tree-sitter chokes on in JSX text and attribute strings."""
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error:
            continue
        for child in node.children:
            end = child.end_byte
            if (
                child.type == "jsx_text"
                and source[end : end + 1] == b"&"
                and not ENTITY.match(source, end)
            ):
                found.append(end)
            elif (
                child.type == "ERROR"
                and node.type == "string"
                and node.parent is not None
                and node.parent.type == "jsx_attribute"
                and source[child.start_byte : child.start_byte + 1] == b"&"
            ):
                found.append(child.start_byte)
            stack.append(child)
    return found


def parse_source(path: str, source: bytes, function_slug: str | None = None) -> ParsedFile:
    """Parse source bytes with the grammar chosen by the path's extension."""
    lang = language_name_for(path) or "typescript"
    parser = _parser(lang)
    tree = parser.parse(source)
    if lang == "tsx" and tree.root_node.has_error and b"&" in source:
        for _ in range(MAX_JSX_AMPERSAND_FIXES):
            spots = _jsx_text_ampersands(tree, source)
            if not spots:
                break
            patched = bytearray(source)
            for at in spots:
                patched[at : at + 1] = b"+"
            source = bytes(patched)
            tree = parser.parse(source)
            if not tree.root_node.has_error:
                break
    return ParsedFile(
        path=path, source=source, tree=tree, language=lang, function_slug=function_slug
    )


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


def walk(node: Node) -> Iterator[Node]:
    """`node` and every named descendant, depth first (source order)."""
    yield node
    for child in node.named_children:
        yield from walk(child)


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
