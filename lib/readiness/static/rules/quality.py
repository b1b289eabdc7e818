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
import json
import re
from pathlib import Path

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

TODO = re.compile(r"\b(TODO|FIXME|HACK)\b|^[\s/*#-]*XXX\b")
# Placeholders are id-, key- or price-shaped literals, not words: UI copy ("Your name",
# "TBD"), i18n keys (`input_placeholder`) and masks ("XXXX") are left alone.
PLACEHOLDER = re.compile(
    r"(?<![A-Za-z])(?:REPLACE|CHANGE)[_-]?ME(?![a-z])"  # REPLACE_ME, change-me (not "replacement")
    r"|^<your[^>]*>$"  # <your-project-ref>
    r"|^YOUR_[A-Z0-9_]+$"  # YOUR_STRIPE_KEY_HERE
    r"|^your[-_](?:[a-z0-9]+[-_])*(?:key|secret|token|id|url|here|ref|project|api|dsn)(?:[-_][a-z0-9]+)*$"
    r"|^[A-Z0-9_]*PLACEHOLDER[A-Z0-9_]*$"
    r"|^(?:sk|pk|rk)_(?:test|live)_(?:x+|\.{3}.*|\*+|your\w*|.*x{4,}.*|.*(?:placeholder|example).*)$"
    r"|^(?:price|prod|plan|whsec|acct|cus|sub)_(?:x{3,}|\.{3}|your\w*|placeholder|example\w*)$",
    re.I,
)
CASED = re.compile(r"^YOUR_|^[A-Z0-9_]*PLACEHOLDER")
# `price_basic_monthly`: a made-up Stripe id (real ones are random: price_1Nx…). Only as
# the value of a price/plan/product key or variable, since `price_monthly` is also a column.
WORD_ID = re.compile(r"^(?:price|prod)_[a-z]+(?:_[a-z0-9]+)*$")
ID_HOLDER = re.compile(r"price|plan|product|tier|sku", re.I)
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
React JSX import EdgeRuntime
google gapi grecaptcha Stripe gtag dataLayer fbq PaystackPop FlutterwaveCheckout Razorpay
"""
# Runtime globals from the npm `globals` package (ES, browser, workers, Node, Deno, Bun,
# React Native), generated when the venv is built (`make venv` runs
# bench/gen_runtime_globals.py; the list is not committed, it is the package's data), plus
# the Supabase edge runtime's and the globals SDK script tags define (Google Maps,
# Stripe.js v3, analytics) above.
RUNTIME_GLOBALS_FILE = Path(__file__).resolve().parent.parent / "ts" / "runtime_globals.json"


def _runtime_names() -> frozenset[str] | None:
    try:
        return frozenset(json.loads(RUNTIME_GLOBALS_FILE.read_text("utf-8"))["names"])
    except (OSError, ValueError, KeyError):
        return None


RUNTIME_NAMES = _runtime_names()
GLOBALS = frozenset(_GLOBAL_NAMES.split()) | (RUNTIME_NAMES or frozenset())
TYPE_CONTEXTS = frozenset(
    {
        "type_annotation",
        "type_alias_declaration",
        "interface_declaration",
        "type_arguments",
        "type_parameters",
        "type_query",
        "type_predicate",
        "object_type",
        "index_signature",
        "function_type",
        "constructor_type",
        "generic_type",
        "union_type",
        "intersection_type",
        "lookup_type",
        "conditional_type",
        "tuple_type",
        "array_type",
        "implements_clause",
        "ambient_declaration",
        "function_signature",
    }
)
DECLARATION_TYPES = {
    "class_declaration": "name",
    "abstract_class_declaration": "name",
    "class": "name",
    "function_expression": "name",
    "enum_declaration": "name",
    "module": "name",
    "internal_module": "name",
    "generator_function": "name",
    "function_signature": "name",
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
        match = TODO.search(text(comment).strip())
        if match:
            snippet = text(comment).strip("/* \n")[:80]
            rows.append({"path": pf.path, "line": line(comment), "kind": "todo", "text": snippet})
    return rows


def placeholders(pf: ParsedFile) -> list[dict]:
    """TODO comments and placeholder literals of a parsed code file."""
    rows = _comment_rows(pf)
    for node in pf.nodes("string", "template_string"):
        value = string_value(node)
        if value and (is_placeholder(value) or _word_id(node, value)) and not _ui_text(node):
            rows.append(
                {"path": pf.path, "line": line(node), "kind": "placeholder", "text": value[:80]}
            )
    return rows


def is_placeholder(value: str) -> bool:
    """An id-, key- or price-shaped placeholder literal (see PLACEHOLDER)."""
    value = value.strip()
    if not value or len(value) > 120 or " " in value:
        return False
    match = PLACEHOLDER.search(value)
    if match is None:
        return False
    # YOUR_… and …PLACEHOLDER… count in upper case only (env-style names)
    return not CASED.match(match.group(0).upper()) or bool(CASED.match(match.group(0)))


def _word_id(node: Node, value: str) -> bool:
    """A word-shaped price/product id held by a price/plan key or variable."""
    if not WORD_ID.match(value):
        return False
    parent = node.parent
    while parent is not None and parent.type in TRANSPARENT_TYPES | {"ternary_expression"}:
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "pair":
        holder = text(parent.child_by_field_name("key"))
    elif parent.type in {"variable_declarator", "assignment_expression"}:
        holder = text(parent.child_by_field_name("name") or parent.child_by_field_name("left"))
    else:
        return False
    return bool(ID_HOLDER.search(holder)) or parent.type == "pair" and _in_price_map(parent)


def _in_price_map(pair: Node) -> bool:
    """`const PRICES = { basic: 'price_basic_monthly' }`: the object is held by a price name."""
    obj = pair.parent
    holder = obj.parent if obj is not None else None
    while holder is not None and holder.type in TRANSPARENT_TYPES:
        holder = holder.parent
    if holder is None or holder.type not in {"variable_declarator", "pair"}:
        return False
    name = holder.child_by_field_name("name") or holder.child_by_field_name("key")
    return bool(ID_HOLDER.search(text(name)))


def _ui_text(node: Node) -> bool:
    """A JSX `placeholder=` attribute or a `placeholder:` property: UI copy, not data."""
    parent = node.parent
    while parent is not None and parent.type in {"jsx_expression", "parenthesized_expression"}:
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "jsx_attribute" and parent.named_children:
        return "placeholder" in text(parent.named_children[0]).lower()
    if parent.type == "pair":
        return "placeholder" in text(parent.child_by_field_name("key")).lower()
    return False


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
            if is_placeholder(literal):
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


def ambient_names(pf: ParsedFile) -> set[str]:
    """Names a declaration file (`.d.ts`, `declare global`, `declare const x`) makes global."""
    names: set[str] = set()
    for node in pf.nodes("ambient_declaration"):
        for child in node.named_children:
            target = child.child_by_field_name("name")
            if target is not None:
                names.add(text(target))
            elif child.type in {"lexical_declaration", "variable_declaration"}:
                for decl in child.named_children:
                    name = decl.child_by_field_name("name")
                    if name is not None:
                        names.add(text(name))
    return names


def undefined_identifiers(pf: ParsedFile, ambient: frozenset[str] = frozenset()) -> list[dict]:
    """Names used as values that nothing in the file, the project's declarations or the
    runtime defines (declaration files themselves run nothing)."""
    if pf.path.endswith(".d.ts"):
        return []
    declared = _declared_names(pf) | ambient
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
        if enclosing(ident, TYPE_CONTEXTS) is not None:
            continue  # a type-level name (interfaces, index-signature keys, generics)
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
