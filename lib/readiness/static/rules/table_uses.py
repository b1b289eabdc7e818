"""Which tables and columns the code itself reads and writes (tree-sitter), for Area 5.

Schema expectations come from the code, not from a catalogue of what a platform ought to
have: a table the code never names is not required, and a column is looked for under the
name the code uses (`stripe_sub_id`, not `stripe_subscription_id`).

- `client.from('t')` names a table (column NA, use `from`);
- `.select('a, b:c, rel(x)')` reads columns `a` and `c` (embedded relations and `*` are
  skipped);
- `.insert({...})` / `.update({...})` / `.upsert({...})` write the payload's keys;
- filters are in `code_query_filters` already.
"""

from __future__ import annotations

import re

from ..ts.idioms import query_table, side_effect_kind
from ..ts.scope import resolve_value
from ..ts.syntax import (
    ParsedFile,
    call_args,
    call_property,
    callee,
    line,
    object_properties,
    string_value,
    unwrap,
)
from .panel_access import NO_ROLES, ClientRoles, client_role

S, N = "string", "Int64"
TABLES: dict[str, dict[str, str]] = {
    "code_table_uses": {
        "path": S,
        "line": N,
        "function_slug": S,
        "table": S,
        "column": S,
        "use": S,
        "client_role": S,
    },
}
WRITES = frozenset({"insert", "update", "upsert"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def select_columns(spec: str) -> list[str]:
    """Plain columns of a PostgREST select list: `a, alias:b, c::text, d->>e, rel(*)` ->
    [a, b, c, d] (an embedded relation is another table's columns)."""
    depth, part, embedded, parts = 0, "", False, []
    for ch in spec + ",":
        if ch == "(":
            depth += 1
            embedded = True
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append((part, embedded))
            part, embedded = "", False
        elif depth == 0:
            part += ch
    out = []
    for p, emb in parts:
        name = p.split("::")[0].split("->")[0]
        name = name.split(":")[-1].strip().strip('"')
        if not emb and _IDENT.match(name) and name not in out:
            out.append(name)
    return out


def table_uses(pf: ParsedFile, roles: ClientRoles = NO_ROLES) -> list[dict]:
    """Table and column uses, each with the role its client acts as (panel_access.py)."""
    rows: list[dict] = []
    role_of: dict[int, str] = {}

    def add(node, table: str | None, column: str | None, use: str, chain) -> None:
        if table:
            key = chain.id
            if key not in role_of:
                role_of[key] = client_role(pf, chain, roles)
            rows.append(
                {
                    "path": pf.path,
                    "line": line(node),
                    "function_slug": pf.function_slug,
                    "table": table,
                    "column": column,
                    "use": use,
                    "client_role": role_of[key],
                }
            )

    for call in pf.nodes("call_expression"):
        method = call_property(call)
        fn = unwrap(callee(call))
        if fn is None or fn.type != "member_expression":
            continue
        if method == "from":
            is_query, table = query_table(call)
            if is_query:
                add(call, table, None, "from", call)
            continue
        if method not in WRITES | {"select"}:
            continue
        is_query, table = query_table(fn.child_by_field_name("object"))
        if not is_query or not table:
            continue
        args = call_args(call)
        if method == "select":
            spec = string_value(args[0]) if args else None
            for col in select_columns(spec or ""):
                add(call, table, col, "read", call)
            continue
        if side_effect_kind(call) != "db_write":
            continue
        payload = resolve_value(pf, args[0]) if args else None
        objects = [payload] if payload is not None and payload.type == "object" else []
        if payload is not None and payload.type == "array":
            objects = [o for o in payload.named_children if o.type == "object"]
        for obj in objects:
            for key, _value, prop in object_properties(obj):
                if _IDENT.match(key or ""):
                    add(prop, table, key, "write", call)
    return rows
