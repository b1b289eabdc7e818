"""Secrets stored with a transform anyone can undo (issue 16): a column written from a
password, secret or token through base64 or hex (`btoa(password)`,
`Buffer.from(pw).toString('base64')`, `encodeBase64(pw)` from std/encoding,
SQL `encode(convert_to(p_password, 'UTF8'), 'base64')`) or through a homemade
"encrypt" helper (XOR / character shifts with `charCodeAt`). Hashes and real encryption
(bcrypt, `crypt()`, `digest()`, sha*, argon2, `pgp_sym_encrypt`) are not reversible by
whoever reads the column and are never recorded.

`code_reversible_secrets`: one row per written column; SEC-PATH-REVERSIBLE-SECRETS joins
it with who may read the column. Rules only record.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast
from tree_sitter import Node

from ..sql.facts import const_value, func_name, walk
from ..ts.idioms import query_table
from ..ts.scope import local_function, resolve_value, trace
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    member_parts,
    normalized,
    object_properties,
    string_value,
    text,
    unwrap,
)
from .sql_bodies import Piece, pieces

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_reversible_secrets": {
        "path": S,
        "line": N,
        "writer": S,  # the function slug, `sql:<schema.fn>`, or the file
        "table": S,
        "column": S,
        "transform": S,  # base64 | hex | homemade
        "secret_expr": S,  # what was encoded (`password`, `p_password`)
    }
}
SECRET_WORD = re.compile(
    r"pass(word|wd|phrase)?|pwd|^(p_|in_|new_)?pw$|_pw$|secret|token|api_?key|credential|"
    r"private_?key",
    re.I,
)
# what makes an encoded value a hash or a ciphertext with a key the reader does not hold
ONE_WAY = re.compile(
    r"digest|hash|bcrypt|argon|scrypt|pbkdf|hmac|sha(1|224|256|384|512)?\b|md5|crypt\b|"
    r"encrypt\(|subtle\.encrypt|pgp_|aes|gen_salt",
    re.I,
)
WRITES = frozenset({"insert", "upsert", "update"})
ENCODINGS = {"base64": "base64", "base64url": "base64", "hex": "hex", "escape": "base64"}
HELPER_NAME = re.compile(r"encrypt|obfuscate|encode|scramble|cipher|conceal|mask|hide", re.I)
HOMEMADE = re.compile(r"charCodeAt|fromCharCode|\^|btoa|toString\(\s*['\"](base64|hex)")
MAX_DEPTH = 6


def _secret(node: Node | None) -> str | None:
    """The secret an encoded argument holds (by the names it reads), unless it is hashed."""
    said = text(node)
    if not said or ONE_WAY.search(said):
        return None
    words = re.findall(r"[A-Za-z_$][\w$]*", said)
    return said if any(SECRET_WORD.search(w) for w in words) else None


def _import_from(pf: ParsedFile, ident: Node) -> str:
    """The module an imported name comes from ('' when it is not imported)."""
    binding = trace(pf, text(ident), ident)
    if binding is None or binding.kind != "import":
        return ""
    stmt = binding.node
    while stmt is not None and stmt.type != "import_statement":
        stmt = stmt.parent
    source = stmt.child_by_field_name("source") if stmt is not None else None
    return string_value(source) or ""


def transform_of(pf: ParsedFile, node: Node | None, depth: int = 0) -> tuple[str, str] | None:
    """(transform, secret expression) when `node` is a reversible encoding of a secret."""
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type in {"identifier", "shorthand_property_identifier"}:
        value = resolve_value(pf, node)
        return transform_of(pf, value, depth + 1) if value is not None and value != node else None
    if node.type != "call_expression":
        return None
    args = call_args(node)
    chain = normalized(callee(node))
    fn = unwrap(callee(node))
    if chain == "btoa" and args:
        found = _secret(args[0])
        return ("base64", found) if found else None
    if call_property(node) == "toString" and args:
        encoding = ENCODINGS.get(string_value(args[0]) or "")
        obj = member_parts(fn)[0] if fn is not None else None
        obj = unwrap(obj)
        if (
            encoding
            and obj is not None
            and obj.type == "call_expression"
            and normalized(callee(obj)) == "Buffer.from"
            and call_args(obj)
        ):
            found = _secret(call_args(obj)[0])
            return (encoding, found) if found else None
        return None
    if fn is not None and args:
        root = fn if fn.type == "identifier" else unwrap(member_parts(fn)[0])
        module = _import_from(pf, root) if root is not None and root.type == "identifier" else ""
        if re.search(r"encoding/(base64|base64url|hex)", module):
            found = _secret(args[0])
            return ("hex" if "hex" in module else "base64", found) if found else None
    helper = local_function(pf, node)
    if helper is not None and args and HELPER_NAME.search(chain) and HOMEMADE.search(text(helper)):
        if ONE_WAY.search(text(helper)):
            return None
        found = _secret(args[0])
        return ("homemade", found) if found else None
    return None


def _payloads(pf: ParsedFile, call: Node) -> list[Node]:
    args = call_args(call)
    value = resolve_value(pf, args[0]) if args else None
    if value is None:
        return []
    if value.type == "array":
        return [v for v in (resolve_value(pf, e) for e in value.named_children) if v is not None]
    return [value]


def code_writes(pf: ParsedFile, writer: str) -> list[dict]:
    """`.from(t).insert/upsert/update({ col: <reversible(secret)> })` in one file."""
    rows = []
    for call in pf.nodes("call_expression"):
        if call_property(call) not in WRITES:
            continue
        is_query, table = query_table(unwrap(callee(call)))
        if not is_query or not table:
            continue
        for payload in _payloads(pf, call):
            if payload.type != "object":
                continue
            for key, value, prop in object_properties(payload):
                if key.startswith("*"):
                    continue
                found = transform_of(pf, value if value is not None else prop)
                if found:
                    rows.append(_row(pf.path, line(prop), writer, table, key, *found))
    return rows


def _row(path, line_no, writer, table, column, transform, secret) -> dict:
    return {
        "path": path,
        "line": line_no,
        "writer": writer,
        "table": table.split(".")[-1],
        "column": column,
        "transform": transform,
        "secret_expr": secret[:120],
    }


# --- SQL --------------------------------------------------------------------------------


def _sql_names(node: Any) -> list[str]:
    return [
        str(getattr(f, "sval", ""))
        for n in walk(node)
        if isinstance(n, ast.ColumnRef)
        for f in n.fields[-1:]
    ]


def sql_transform(expr: Any) -> tuple[str, str] | None:
    """`encode(<secret as bytes>, 'base64' | 'hex')` of a secret-named value, not a hash."""
    for call in walk(expr):
        if func_name(call)[-1:] != ("encode",) or len(call.args or ()) != 2:
            continue
        encoding = ENCODINGS.get(str(const_value(call.args[1]) or "").lower())
        inner = call.args[0]
        called = {func_name(n)[-1] for n in walk(inner) if func_name(n)}
        if not encoding or any(ONE_WAY.search(c + "(") for c in called):
            continue
        secret = next((n for n in _sql_names(inner) if SECRET_WORD.search(n)), None)
        if secret:
            return encoding, secret
    return None


def _targets(stmt: Any) -> tuple[str | None, list[tuple[str, Any]]]:
    """(table, [(column, value)]) of an INSERT … VALUES or an UPDATE … SET."""
    if isinstance(stmt, ast.UpdateStmt):
        table = stmt.relation.relname
        return table, [(t.name, t.val) for t in stmt.targetList or () if t.name]
    if isinstance(stmt, ast.InsertStmt):
        table = stmt.relation.relname
        cols = [c.name for c in stmt.cols or ()]
        select = stmt.selectStmt
        out = []
        rows = getattr(select, "valuesLists", None) or ()
        if not rows and select is not None and select.targetList:
            rows = [tuple(t.val for t in select.targetList)]
        for values in rows:
            out += [(c, v) for c, v in zip(cols, values, strict=False)]
        return table, out
    return None, []


def sql_writes(path: str, sql: str) -> list[dict]:
    """Reversible secret writes of one migration (statements, function bodies, jobs)."""
    rows = []
    for piece in pieces(path, sql):
        rows += _piece_writes(piece)
    return rows


def _piece_writes(piece: Piece) -> list[dict]:
    table, targets = _targets(piece.node)
    out = []
    for column, value in targets:
        found = sql_transform(value)
        if table and found:
            writer = piece.owner or f"file:{piece.path}"
            out.append(_row(piece.path, piece.line, writer, table, column, *found))
    return out
