"""File-level code facts: environment reads, local imports and `.env` file entries.

These facts are per file (the owning function's slug, or NA for shared and frontend
files); checks join them with `code_function_files` when they need a function's view.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from tree_sitter import Node

from ..ts.idioms import ENV_GETTERS, ENV_OBJECTS
from ..ts.scope import trace
from ..ts.syntax import (
    TRANSPARENT_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    enclosing_function,
    function_name,
    line,
    literal_value,
    member_parts,
    normalized,
    string_value,
    text,
    unwrap,
)

RESOLVE_SUFFIXES = (
    "",
    ".ts",
    ".tsx",
    ".js",
    ".jsx",
    ".mjs",
    ".d.ts",
    "/index.ts",
    "/index.tsx",
    "/index.js",
    "/index.jsx",
)


def _is_env_getter(call: Node) -> bool:
    return normalized(callee(call)) in ENV_GETTERS


def env_accessors(pf: ParsedFile) -> dict[str, int]:
    """Named functions that pass one of their parameters to `Deno.env.get` (or index env).

    `function requireEnv(name) { const v = Deno.env.get(name); ... }` makes every
    `requireEnv('X')` call an environment read of X; returns {name: parameter index}.
    """
    found: dict[str, int] = {}
    for call in pf.nodes("call_expression"):
        if not _is_env_getter(call):
            continue
        args = call_args(call)
        arg = unwrap(args[0]) if args else None
        if arg is None or arg.type != "identifier":
            continue
        binding = trace(pf, text(arg), arg)
        fn = enclosing_function(call)
        if binding is None or binding.kind != "param" or fn is None or binding.scope != fn:
            continue
        name = function_name(fn)
        params = fn.child_by_field_name("parameters")
        if not name or params is None:
            continue
        for i, param in enumerate(params.named_children):
            if text(param.child_by_field_name("pattern")) == binding.name:
                found[name] = i
    return found


def _fallback(node: Node) -> tuple[str | None, str | None]:
    """(literal, source text) of the right side when `node ?? x` / `node || x`."""
    child, parent = node, node.parent
    while parent is not None and parent.type in TRANSPARENT_TYPES:
        child, parent = parent, parent.parent
    if parent is None or parent.type != "binary_expression":
        return None, None
    op = text(parent.child_by_field_name("operator"))
    left = parent.child_by_field_name("left")
    if op not in {"??", "||"} or left is None or left != child:
        return None, None
    right = parent.child_by_field_name("right")
    return literal_value(right), text(right)


def tests_empty(condition: str, name: str) -> bool:
    """Does an if-condition test `name` itself for emptiness (`!x`, `x.length`, `x === ''`,
    `!x.trim()`)? `!header.includes(x)` tests the header, not x."""
    n, condition = re.escape(name), "".join(condition.split()).replace("?.", ".")
    return bool(
        re.search(rf"!\(*{n}(?![\w.(\[])", condition)
        or re.search(rf"(?<![\w.]){n}\.length", condition)
        or re.search(rf"(?<![\w.]){n}[!=]==?(''|\"\"|``|null|undefined)", condition)
        or re.search(rf"!{n}\.trim\(\)", condition)
    )


def _fallback_guard(pf: ParsedFile, node: Node) -> str | None:
    """Why a literal fallback is not silent: the value goes straight into `createClient`
    (which throws on an empty key) or is checked (`if (!x) throw ...`) before use."""
    top = node
    while top.parent is not None and (
        top.parent.type in TRANSPARENT_TYPES
        or top.parent.type == "binary_expression"
        and text(top.parent.child_by_field_name("operator")) in {"??", "||"}
        or top.parent.type in {"member_expression", "call_expression"}
        and normalized(top.parent).startswith(normalized(top))
    ):
        top = top.parent
    parent = top.parent
    if parent is not None and parent.type == "arguments":
        call = parent.parent
        return (
            "createClient" if call is not None and call_property(call) == "createClient" else None
        )
    if parent is None or parent.type != "variable_declarator":
        return None
    name = parent.child_by_field_name("name")
    if name is None or name.type != "identifier":
        return None
    for call in pf.nodes("call_expression"):
        if (
            call.start_byte > top.end_byte
            and call_property(call) == "createClient"
            and any(text(a) == text(name) for a in call_args(call))
        ):
            return "createClient"
    for stmt in pf.nodes("if_statement"):
        cond = stmt.child_by_field_name("condition")
        body = stmt.child_by_field_name("consequence")
        if stmt.start_byte < top.end_byte or cond is None or body is None:
            continue
        if tests_empty(text(cond), text(name)) and (
            "throw" in text(body) or "return" in text(body)
        ):
            return "checked"
    return None


def env_reads(pf: ParsedFile, accessors: dict[str, int]) -> list[dict]:
    """Every environment variable read with a literal name, and its fallback if any."""
    rows: list[dict] = []

    def add(node: Node, name: str | None, via: str | None) -> None:
        if not name:
            return
        fallback, fallback_expr = _fallback(node)
        rows.append(
            {
                "path": pf.path,
                "line": line(node),
                "function_slug": pf.function_slug,
                "name": name,
                "fallback": fallback,
                "fallback_expr": fallback_expr,
                "via": via,
                "fallback_guard": _fallback_guard(pf, node) if fallback is not None else None,
            }
        )

    for call in pf.nodes("call_expression"):
        args = call_args(call)
        if _is_env_getter(call):
            add(call, string_value(args[0]) if args else None, None)
            continue
        fn = unwrap(callee(call))
        if fn is not None and fn.type == "identifier" and text(fn) in accessors:
            index = accessors[text(fn)]
            if index < len(args):
                add(call, string_value(args[index]), text(fn))
    for node in pf.nodes("member_expression", "subscript_expression"):
        obj, prop = member_parts(node)
        if obj is not None and prop and normalized(obj) in ENV_OBJECTS:
            add(node, prop, None)
    rows.sort(key=lambda r: r["line"])
    return rows


def local_imports(pf: ParsedFile) -> list[tuple[int, str]]:
    """(line, specifier) of static imports, re-exports and `import('...')` with literals."""
    found: list[tuple[int, str]] = []
    for stmt in pf.nodes("import_statement", "export_statement"):
        src = stmt.child_by_field_name("source")
        value = string_value(src) if src is not None else None
        if value is not None:
            found.append((line(stmt), value))
    for call in pf.nodes("call_expression"):
        fn = callee(call)
        if fn is not None and fn.type == "import":
            args = call_args(call)
            value = string_value(args[0]) if args else None
            if value is not None:
                found.append((line(call), value))
    return found


def resolve_import(importer: str, specifier: str, known: set[str]) -> str | None:
    """Path of the file a relative specifier points at, trying TS/JS extensions."""
    base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    if base.startswith(".."):
        return None
    for suffix in RESOLVE_SUFFIXES:
        candidate = base + suffix
        if candidate in known:
            return candidate
    if base.endswith(".js"):  # TS projects import './x.js' meaning './x.ts'
        for alt in (".ts", ".tsx"):
            if base[:-3] + alt in known:
                return base[:-3] + alt
    return None


def import_rows(pf: ParsedFile, known: set[str]) -> list[dict]:
    """Static/dynamic imports; relative ones are resolved against the files on disk."""
    rows = []
    for ln, spec in local_imports(pf):
        relative = spec.startswith("./") or spec.startswith("../")
        resolved = resolve_import(pf.path, spec, known) if relative else None
        rows.append(
            {
                "path": pf.path,
                "line": ln,
                "function_slug": pf.function_slug,
                "specifier": spec,
                "is_relative": relative,
                "resolved_path": resolved,
                "resolved": (resolved is not None) if relative else None,
            }
        )
    return rows


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def env_file_entries(path: str, lines: Iterable[str]) -> list[dict]:
    """Names defined in a dotenv file. Values are never kept (they may be secrets)."""
    rows = []
    for number, raw in enumerate(lines, start=1):
        if raw.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(raw)
        if match:
            value = match.group(2).split(" #")[0].strip().strip("'\"")
            rows.append(
                {"path": path, "line": number, "name": match.group(1), "has_value": bool(value)}
            )
    return rows
