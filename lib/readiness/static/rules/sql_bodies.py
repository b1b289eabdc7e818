"""Every SQL a migration runs or stores, parsed with pglast: top-level statements, the
bodies of SQL and PL/pgSQL functions and DO blocks (statement by statement, with their
IF structure), and the commands of `cron.schedule` jobs. Rules that look for a call or a
write wherever it is written (`net.http_post` in a trigger function, an INSERT in a
plpgsql IF) read these pieces instead of the text, whatever the formatting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError

from ..sql.facts import const_value, func_name, split_statements, walk

MAX_DEPTH = 4


@dataclass
class Piece:
    """One parsed SQL statement (or a PL/pgSQL condition, as `SELECT <cond>`)."""

    path: str
    line: int
    node: ast.Node
    owner: str | None  # 'sql:<schema.fn>' in a function body, 'cron:<job>' in a job command
    function: str | None = None  # the enclosing CREATE FUNCTION's name
    condition: bool = False  # an IF condition of a PL/pgSQL body
    branch: list[Piece] = field(default_factory=list)  # for an IF: its THEN statements
    into: list[str] = field(default_factory=list)  # variables a `SELECT … INTO` fills


def _parse(sql: str) -> list[ast.Node]:
    try:
        return [raw.stmt for raw in parse_sql(sql)]
    except ParseError:
        return []


def function_name(stmt: ast.CreateFunctionStmt) -> str:
    names = [getattr(n, "sval", "") for n in stmt.funcname]
    return ".".join(names if len(names) > 1 else ["public", *names])


def _options(stmt: Any) -> dict[str, Any]:
    return {
        o.defname: o.arg
        for o in (getattr(stmt, "options", None) or getattr(stmt, "args", None) or ())
    }


def _body_text(arg: Any) -> str | None:
    if isinstance(arg, (tuple, list)) and arg:
        return getattr(arg[0], "sval", None)
    return getattr(arg, "sval", None)


def _offset(text: str, body: str) -> int:
    """Lines between a statement's start and its body's first line."""
    at = text.find(body[:80]) if body else -1
    return text.count("\n", 0, at) if at > 0 else 0


def _plpgsql(path: str, wrapped: str, line: int, owner: str | None, fn: str | None, depth: int):
    """Pieces of a PL/pgSQL body; `wrapped` is a CREATE FUNCTION whose lineno 1 is `line`."""
    try:
        tree = parse_plpgsql(wrapped)
    except (ParseError, Exception):  # noqa: BLE001 — pglast raises its own errors here
        return []
    return _plpgsql_items(path, tree, line, owner, fn, depth)


def _plpgsql_items(path, node: Any, line: int, owner, fn, depth: int, lineno: int = 1):
    out: list[Piece] = []
    if isinstance(node, list):
        for item in node:
            out += _plpgsql_items(path, item, line, owner, fn, depth, lineno)
        return out
    if not isinstance(node, dict):
        return out
    for kind, value in node.items():
        if not isinstance(value, dict):
            out += _plpgsql_items(path, value, line, owner, fn, depth, lineno)
            continue
        here = value.get("lineno", lineno)
        at = line + max(here, 1) - 1
        if kind == "PLpgSQL_stmt_if":
            cond = value.get("cond", {}).get("PLpgSQL_expr", {}).get("query", "")
            then = _plpgsql_items(path, value.get("then_body", []), line, owner, fn, depth, here)
            for stmt in _parse(f"SELECT {cond}"):
                out.append(Piece(path, at, stmt, owner, fn, condition=True, branch=then))
            out += then
            rest = {k: v for k, v in value.items() if k not in {"cond", "then_body"}}
            out += _plpgsql_items(path, rest, line, owner, fn, depth, here)
            continue
        if kind == "PLpgSQL_stmt_execsql" and value.get("into"):
            target = value.get("target") or {}
            names = [f.get("name", "") for f in target.get("PLpgSQL_row", {}).get("fields", [])]
            names += [target.get("PLpgSQL_var", {}).get("refname", "")]
            found = _plpgsql_items(path, value.get("sqlstmt"), line, owner, fn, depth, here)
            for piece in found:
                piece.into = [n for n in names if n]
            out += found
            continue
        if kind == "PLpgSQL_expr":
            query = value.get("query", "")
            stmts = _parse(query) if value.get("parseMode", 0) == 0 else []
            stmts = stmts or _parse(f"SELECT {query}")
            for stmt in stmts:
                out += _with_jobs(Piece(path, at, stmt, owner, fn), depth)
            continue
        out += _plpgsql_items(path, value, line, owner, fn, depth, here)
    return out


def _with_jobs(piece: Piece, depth: int) -> list[Piece]:
    """The piece and the commands of the `cron.schedule` calls it makes."""
    out = [piece]
    if depth >= MAX_DEPTH:
        return out
    for call in walk(piece.node):
        if func_name(call)[-1:] != ("schedule",) or len(func_name(call)) > 2:
            continue
        if len(func_name(call)) == 2 and func_name(call)[0] != "cron":
            continue
        args = list(call.args or ())
        command = const_value(args[-1]) if args else None
        if command is None:
            continue
        job = const_value(args[0]) if len(args) == 3 else None
        owner = f"cron:{job or 'job'}"
        for stmt in _parse(command):
            out += _with_jobs(Piece(piece.path, piece.line, stmt, owner, piece.function), depth + 1)
    return out


def pieces(path: str, sql: str) -> Iterator[Piece]:
    """Every piece of one migration, in file order."""
    for statement in split_statements(sql):
        for stmt in _parse(statement.sql):
            yield from _statement_pieces(path, statement.line, statement.sql, stmt)


def _statement_pieces(path: str, line: int, text: str, stmt: ast.Node) -> list[Piece]:
    if isinstance(stmt, ast.CreateFunctionStmt):
        opts = _options(stmt)
        name = function_name(stmt)
        lang = (getattr(opts.get("language"), "sval", "") or "").lower()
        body = _body_text(opts.get("as"))
        if body is None:
            return []
        if lang == "plpgsql":
            return _plpgsql(path, text, line + _offset(text, body), f"sql:{name}", name, 0)
        if lang == "sql":
            start = line + _offset(text, body)
            out = []
            for part in split_statements(body):
                for inner in _parse(part.sql):
                    at = start + part.line - 1
                    out += _with_jobs(Piece(path, at, inner, f"sql:{name}", name), 0)
            return out
        return []
    if isinstance(stmt, ast.DoStmt):
        body = _body_text(_options(stmt).get("as"))
        if body is None:
            return []
        wrapped = (
            f"CREATE FUNCTION _readiness_do() RETURNS void LANGUAGE plpgsql AS $_do_${body}$_do_$"
        )
        return _plpgsql(path, wrapped, line + _offset(text, body), None, None, 0)
    return _with_jobs(Piece(path, line, stmt, None), 0)
