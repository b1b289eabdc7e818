"""Code-quality facts (Area 9): placeholders, undefined names, function bodies, `any`.

- ``placeholders``: TODO/FIXME/XXX/HACK comments and placeholder literals
  (REPLACE_ME, CHANGEME, ``your-…``, ``xxx``) in shipped code; ``sql_placeholders`` does
  the same for migration comments and string literals;
- ``undefined_identifiers``: names used as values that no declaration, parameter,
  import or known global binds anywhere in the file (best effort: scope-blind, so it
  misses shadowing bugs but never flags a name declared later);
- ``function_defs``: named functions with a normalised body hash (duplicates across
  files), whether they are exported and referenced (dead code);
- ``any_types``: how many `any` annotations a file has.
"""

from __future__ import annotations

import hashlib
import re

from tree_sitter import Node

from ..ts.scope import bindings, pattern_names
from ..ts.syntax import (
    FUNCTION_TYPES,
    TRANSPARENT_TYPES,
    ParsedFile,
    enclosing,
    function_name,
    line,
    string_value,
    text,
)

TODO = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
PLACEHOLDER = re.compile(
    r"^(?:REPLACE[_-]?ME|CHANGE[_-]?ME|CHANGEME|PLACEHOLDER|TBD|xxx+|your[-_ ][\w-]+"
    r"|<your[^>]*>|todo)$|REPLACE[_-]?ME|CHANGE[_-]?ME|_placeholder\b",
    re.I,
)
SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
MIN_DUPLICATE_CHARS = 80
_GLOBAL_NAMES = """
undefined NaN Infinity globalThis arguments eval Object Function Array Number String Boolean
Symbol BigInt Math JSON Date RegExp Error TypeError RangeError SyntaxError ReferenceError
EvalError URIError AggregateError Promise Proxy Reflect Map Set WeakMap WeakSet WeakRef
FinalizationRegistry ArrayBuffer SharedArrayBuffer DataView Atomics Int8Array Uint8Array
Uint8ClampedArray Int16Array Uint16Array Int32Array Uint32Array Float32Array Float64Array
BigInt64Array BigUint64Array Intl Iterator parseInt parseFloat isNaN isFinite encodeURI
encodeURIComponent decodeURI decodeURIComponent escape unescape console setTimeout
clearTimeout setInterval clearInterval queueMicrotask structuredClone fetch Request Response
Headers URL URLSearchParams URLPattern FormData Blob File FileReader TextEncoder TextDecoder
TextEncoderStream TextDecoderStream crypto Crypto CryptoKey SubtleCrypto atob btoa
AbortController AbortSignal ReadableStream WritableStream TransformStream CompressionStream
DecompressionStream WebSocket Event EventTarget CustomEvent ErrorEvent MessageEvent
MessageChannel BroadcastChannel Worker performance navigator location self caches
reportError DOMException Deno Bun process require module exports __dirname __filename
Buffer global window document localStorage sessionStorage history alert confirm prompt
requestAnimationFrame cancelAnimationFrame getComputedStyle matchMedia HTMLElement Element
Node NodeList IntersectionObserver ResizeObserver MutationObserver Image Audio Notification
React JSX import
"""
GLOBALS = frozenset(_GLOBAL_NAMES.split())
DECLARATION_TYPES = {
    "class_declaration": "name",
    "abstract_class_declaration": "name",
    "class": "name",
    "function_expression": "name",
    "enum_declaration": "name",
    "module": "name",
    "internal_module": "name",
    "generator_function": "name",
}
NOT_A_USE_PARENTS = frozenset(
    {
        "labeled_statement",
        "break_statement",
        "continue_statement",
        "export_specifier",
        "import_specifier",
        "namespace_import",
        "import_clause",
        "namespace_export",
    }
)
JSX_NAME_PARENTS = frozenset(
    {"jsx_opening_element", "jsx_closing_element", "jsx_self_closing_element"}
)


def _comment_rows(pf: ParsedFile) -> list[dict]:
    rows = []
    for comment in pf.nodes("comment"):
        match = TODO.search(text(comment))
        if match:
            snippet = text(comment).strip("/* \n")[:80]
            rows.append({"path": pf.path, "line": line(comment), "kind": "todo", "text": snippet})
    return rows


def placeholders(pf: ParsedFile) -> list[dict]:
    """TODO comments and placeholder literals of a parsed code file."""
    rows = _comment_rows(pf)
    for node in pf.nodes("string", "template_string"):
        value = string_value(node)
        if value and PLACEHOLDER.search(value.strip()):
            rows.append(
                {"path": pf.path, "line": line(node), "kind": "placeholder", "text": value[:80]}
            )
    return rows


def sql_placeholders(path: str, source: str) -> list[dict]:
    """The same facts for a SQL migration (comments and string literals, line by line)."""
    rows = []
    for number, raw in enumerate(source.splitlines(), start=1):
        code, _, comment = raw.partition("--")
        if comment and TODO.search(comment):
            rows.append(
                {"path": path, "line": number, "kind": "todo", "text": comment.strip()[:80]}
            )
        for literal in SQL_STRING.findall(code):
            if PLACEHOLDER.search(literal.strip()):
                rows.append(
                    {"path": path, "line": number, "kind": "placeholder", "text": literal[:80]}
                )
    return rows


def _declared_names(pf: ParsedFile) -> set[str]:
    """Every name bound anywhere in the file (scope-blind)."""
    bindings(pf, "")
    declared = set(pf._bindings or {})
    for node_type, field in DECLARATION_TYPES.items():
        for node in pf.nodes(node_type):
            name = node.child_by_field_name(field)
            if name is not None:
                declared.add(text(name))
    for clause in pf.nodes("catch_clause"):
        param = clause.child_by_field_name("parameter")
        if param is not None:
            declared.update(text(i) for i, _ in pattern_names(param))
    for loop in pf.nodes("for_in_statement"):
        left = loop.child_by_field_name("left")
        if left is not None:
            declared.update(text(i) for i, _ in pattern_names(left))
    for node in pf.nodes("type_parameter", "ambient_declaration"):
        declared.update(text(c) for c in node.named_children if c.type == "identifier")
    for node in pf.nodes("variable_declarator", "required_parameter", "optional_parameter"):
        target = node.child_by_field_name("name") or node.child_by_field_name("pattern")
        if target is not None:
            declared.update(text(i) for i, _ in pattern_names(target))
    return declared


def undefined_identifiers(pf: ParsedFile) -> list[dict]:
    """Names used as values that nothing in the file or the runtime defines."""
    declared = _declared_names(pf)
    rows, seen = [], set()
    for ident in pf.nodes("identifier", "shorthand_property_identifier"):
        name = text(ident)
        if name in declared or name in GLOBALS or name in seen:
            continue
        parent = ident.parent
        if parent is None or parent.type in NOT_A_USE_PARENTS:
            continue
        if parent.type in JSX_NAME_PARENTS and name[:1].islower():
            continue
        if parent.type in {"nested_type_identifier", "nested_identifier"} or (
            parent.type == "member_expression" and parent.child_by_field_name("object") != ident
        ):
            continue
        if (
            enclosing(
                ident,
                {
                    "type_annotation",
                    "type_alias_declaration",
                    "interface_declaration",
                    "type_arguments",
                    "type_query",
                },
            )
            is not None
        ):
            continue
        seen.add(name)
        rows.append({"path": pf.path, "line": line(ident), "name": name})
    return rows


def _normal_body(fn: Node) -> str:
    body = fn.child_by_field_name("body")
    if body is None:
        return ""
    parts: list[str] = []

    def walk(node: Node) -> None:
        if node.type == "comment":
            return
        if node.child_count == 0:
            parts.append(text(node))
        for child in node.children:
            walk(child)

    walk(body)
    return " ".join(parts)


def _exported(fn: Node) -> bool:
    node = fn.parent
    while node is not None and node.type not in {"program"}:
        if node.type in {"export_statement"}:
            return True
        if node.type in FUNCTION_TYPES or node.type == "statement_block":
            return False
        node = node.parent
    return False


def function_defs(pf: ParsedFile) -> list[dict]:
    """Named functions: body hash for duplicates, export/reference flags for dead code."""
    rows = []
    ident_uses: dict[str, int] = {}
    for ident in pf.nodes("identifier", "shorthand_property_identifier"):
        ident_uses[text(ident)] = ident_uses.get(text(ident), 0) + 1
    for fn in pf.nodes(*sorted(FUNCTION_TYPES)):
        name = function_name(fn)
        if not name or fn.type == "method_definition":
            continue
        body = _normal_body(fn)
        # a definition: a declaration, or a function value bound to a name (not an argument)
        holder = fn.parent
        while holder is not None and holder.type in TRANSPARENT_TYPES:
            holder = holder.parent
        is_definition = "declaration" in fn.type or (
            holder is not None and holder.type == "variable_declarator"
        )
        top = enclosing(fn, FUNCTION_TYPES) is None and is_definition
        rows.append(
            {
                "path": pf.path,
                "line": line(fn),
                "function_slug": pf.function_slug,
                "name": name,
                "exported": _exported(fn),
                "top_level": top,
                # its own declaration counts once; any other mention is a reference
                "referenced": ident_uses.get(name, 0) > 1,
                "body_hash": hashlib.sha256(body.encode()).hexdigest()[:16],
                "body_size": len(body),
            }
        )
    return rows


def any_types(pf: ParsedFile) -> list[dict]:
    """One row per file that uses `any`, with the count and the first line."""
    found = [n for n in pf.nodes("predefined_type") if text(n) == "any"]
    if not found:
        return []
    return [{"path": pf.path, "any_count": len(found), "first_line": line(found[0])}]
