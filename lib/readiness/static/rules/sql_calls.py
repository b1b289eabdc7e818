"""Edge-function calls the database makes: `net.http_post(url := '…/functions/v1/<slug>',
body := jsonb_build_object('order_id', id))` in a pg_cron job's command, in a SQL or
PL/pgSQL function (a trigger, a retry routine) or a DO block, as `code_function_calls`
rows (see `function_calls.py`). A call is `scheduled` when a cron job makes it, directly
or through the SQL function its command runs (in any migration).
"""

from __future__ import annotations

import json
from typing import Any

from pglast import ast

from ..sql.facts import const_value, func_name, walk
from .provision_errors import FUNCTIONS_URL
from .sql_bodies import Piece, pieces

HTTP_CALLS = frozenset({("net", "http_post"), ("net", "http_get"), ("http_post",)})
BUILDERS = frozenset({"jsonb_build_object", "json_build_object"})
POSITIONS = {"url": 0, "body": 1}


def _strings(node: Any) -> str:
    """The text of a URL expression: its string constants in order (`||`, concat())."""
    return "${}".join(
        v for v in (const_value(n) for n in walk(node) if isinstance(n, ast.A_Const)) if v
    )


def body_keys(node: Any) -> str | None:
    """Keys of a `jsonb_build_object('k', v, …)` or a JSON literal body; None otherwise."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if node is None:
        return ""
    if isinstance(node, ast.FuncCall) and func_name(node)[-1:] and func_name(node)[-1] in BUILDERS:
        args = list(node.args or ())
        keys = [const_value(a) for a in args[::2]]
        if len(args) % 2 or any(k is None for k in keys):
            return None
        return ",".join(sorted(str(k) for k in keys))
    if isinstance(node, ast.A_Const):
        raw = const_value(node)
        try:
            value = json.loads(raw) if raw is not None else None
        except ValueError:
            return None
        return ",".join(sorted(value)) if isinstance(value, dict) else None
    return None


def _argument(call: ast.FuncCall, name: str) -> tuple[bool, Any]:
    """(given, value) of a named (`body :=`) or positional argument."""
    args = list(call.args or ())
    for arg in args:
        if isinstance(arg, ast.NamedArgExpr) and arg.name == name:
            return True, arg.arg
    positional = [a for a in args if not isinstance(a, ast.NamedArgExpr)]
    index = POSITIONS[name]
    return (True, positional[index]) if index < len(positional) else (False, None)


def _calls(piece: Piece) -> list[dict]:
    rows = []
    for call in walk(piece.node):
        if not isinstance(call, ast.FuncCall) or func_name(call) not in HTTP_CALLS:
            continue
        _, url = _argument(call, "url")
        found = FUNCTIONS_URL.search(_strings(url)) if url is not None else None
        if not found:
            continue
        given, body = _argument(call, "body")
        keys = body_keys(body) if given else ""
        owner = piece.owner or f"sql:{piece.path}"
        rows.append(
            {
                "path": piece.path,
                "line": piece.line,
                "caller": owner,
                "caller_kind": owner.split(":", 1)[0],
                "target": found.group(1),
                "via": ".".join(func_name(call)),
                "body_keys": keys,
                "scheduled": owner.startswith("cron:"),
            }
        )
    return rows


def sql_calls(migrations: list[tuple[str, str]]) -> list[dict]:
    """Calls of every migration; the SQL functions a cron job runs are `scheduled`."""
    rows, run_by_jobs = [], set()
    for path, sql in migrations:
        for piece in pieces(path, sql):
            rows += _calls(piece)
            if piece.owner and piece.owner.startswith("cron:"):
                for call in walk(piece.node):
                    name = func_name(call)
                    if name:
                        run_by_jobs.add(".".join(name if len(name) > 1 else ("public", *name)))
    for row in rows:
        if row["caller"].removeprefix("sql:") in run_by_jobs:
            row["scheduled"] = True
    return rows
