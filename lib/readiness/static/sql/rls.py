"""What an anonymous caller or a signed-in customer can write: grants x RLS x policies.

Split from the schema source because it is analysis rather than collection: it works on
the catalog tables alone (the same in migrations and live mode) and is the one place
that decides whether a policy lets a write through (`schema_rls_writes`). Policy
expressions are judged per caller by `policy.Evaluator`: PERMISSIVE policies OR
together, RESTRICTIVE ones AND, whatever their names say.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pglast import ast

from readiness.static.sql.facts import parse_expr
from readiness.static.sql.functions import Functions
from readiness.static.sql.policy import (
    ALL,
    NONE,
    Caller,
    Evaluator,
    pinned_columns,
    trusted_columns,
)

API_CALLERS = {"anon": Caller.ANON, "authenticated": Caller.CUSTOMER}
WRITE_COMMANDS = ("INSERT", "UPDATE", "DELETE")


def _roles_of(roles: Any) -> set[str]:
    return {r.strip() for r in str(roles or "public").split(",") if r.strip()}


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _is_false(value: Any) -> bool:
    return value is not None and not pd.isna(value) and not bool(value)


def _new_rows(pol: dict) -> str | None:
    """The expression new rows must pass: WITH CHECK, or USING when there is none."""
    check = _text(pol["check_expr"])
    return check if check is not None else _text(pol["using_expr"])


def command_level(ev: Evaluator, pol: dict, cmd: str) -> int:
    """Rows policy `pol` lets `ev.caller` write with `cmd` (USING for the rows it touches,
    WITH CHECK for the rows it leaves; a missing WITH CHECK repeats USING)."""
    using, check = _text(pol["using_expr"]), _text(pol["check_expr"])
    if cmd == "INSERT":
        return ev.level(check if check is not None else using)
    if cmd in ("DELETE", "SELECT"):
        return ev.level(using)
    return min(ev.level(using), ev.level(check if check is not None else using))


def judge(
    policies: pd.DataFrame, role: str, cmd: str, functions: Functions | None = None
) -> tuple[int, list[dict]]:
    """(rows admitted, the policies that decide it) for `role` and `cmd`: the permissive
    ones that admit rows, then the restrictive ones (marked `restrictive`) that narrow them."""
    ev = Evaluator(API_CALLERS[role], functions)
    permissive, restrictive, granting, narrowing = NONE, ALL, [], []
    for pol in policies.to_dict("records"):
        if pol["command"] not in (cmd, "ALL") or not ({role, "public"} & _roles_of(pol["roles"])):
            continue
        lvl = command_level(ev, pol, cmd)
        if _is_false(pol["permissive"]):
            restrictive = min(restrictive, lvl)
            narrowing.append({**pol, "level": lvl, "restrictive": True})
        else:
            permissive = max(permissive, lvl)
            if lvl > NONE:
                granting.append({**pol, "level": lvl})
    return min(permissive, restrictive), granting + narrowing


def rls_writes(
    tables: pd.DataFrame,
    columns: pd.DataFrame,
    policies: pd.DataFrame,
    grants: pd.DataFrame,
    functions: Functions | None = None,
    bodies: list[str | None] | None = None,
    commands: tuple[str, ...] = WRITE_COMMANDS,
) -> list[dict]:
    """What anon and authenticated can INSERT/UPDATE/DELETE: privileges × RLS × policies.

    A write is allowed when the role holds the privilege (table or column grant, to the
    role or PUBLIC) and either RLS is off or the policies, judged for that caller, admit
    some row. Allowed writes get one row per writable column; a column every granting
    policy's WITH CHECK pins to a constant is not the caller's to choose. `trusted` marks
    role-like columns an authorization test reads (policies, function `bodies`).
    """
    out: list[dict] = []
    trusted = trusted_columns(
        [*policies["using_expr"], *policies["check_expr"]],
        [] if bodies is None else bodies,
    )
    base = tables[tables["kind"].isin(["table", "partitioned"])]
    for t in base.to_dict("records"):
        key = (t["schema"], t["table"])
        tcols = columns[(columns["schema"] == key[0]) & (columns["table"] == key[1])]
        tgrants = grants[(grants["schema"] == key[0]) & (grants["table"] == key[1])]
        tpol = policies[(policies["schema"] == key[0]) & (policies["table"] == key[1])]
        for role in API_CALLERS:
            mine = tgrants[tgrants["grantee"].isin([role, "PUBLIC"])]
            for cmd in commands:
                g = mine[mine["privilege"] == cmd]
                row = {"schema": key[0], "table": key[1], "role": role, "command": cmd}
                if g.empty:
                    out.append({**row, "allowed": False, "how": f"no {cmd} privilege"})
                    continue
                if g["column"].isna().any() or cmd == "DELETE":
                    cols = [None] if cmd == "DELETE" else list(tcols["column"])
                else:
                    cols = sorted(set(g["column"].dropna()))
                if not bool(t["rls_enabled"]):
                    out += [
                        {
                            **row,
                            "column": c,
                            "allowed": True,
                            "scope": "any row",
                            "how": f"{cmd} privilege and RLS disabled",
                            "trusted": (key[1], c) in trusted,
                        }
                        for c in cols
                    ]
                    continue
                level, granting = judge(tpol, role, cmd, functions)
                if level == NONE:
                    out.append({**row, "allowed": False, "how": "RLS on, no policy admits it"})
                    continue
                pinned = _pinned(granting) if cmd in ("INSERT", "UPDATE") else set()
                names = [str(p["name"]) for p in granting if not p.get("restrictive")]
                how = f"{cmd} privilege and {'policies' if len(names) > 1 else 'policy'} " + (
                    ", ".join(f'"{n}"' for n in names)
                )
                out += [
                    {
                        **row,
                        "column": c,
                        "allowed": True,
                        "scope": "any row" if level == ALL else _scope(granting, functions),
                        "policy": names[0],
                        "how": how,
                        "trusted": (key[1], c) in trusted,
                    }
                    for c in cols
                    if c not in pinned
                ]
    return out


def rls_reads(
    tables: pd.DataFrame,
    columns: pd.DataFrame,
    policies: pd.DataFrame,
    grants: pd.DataFrame,
    functions: Functions | None = None,
) -> list[dict]:
    """What anon and authenticated can SELECT, judged like the writes (one row a column)."""
    return rls_writes(tables, columns, policies, grants, functions, None, ("SELECT",))


def _pinned(policies: list[dict]) -> set[str]:
    """Columns pinned by every permissive policy, or by any restrictive one."""
    perm = [pinned_columns(_new_rows(p)) for p in policies if not p.get("restrictive")]
    restr = [pinned_columns(_new_rows(p)) for p in policies if p.get("restrictive")]
    return (set.intersection(*perm) if perm else set()).union(*restr)


def _scope(granting: list[dict], functions: Functions | None) -> str:
    """'own rows' when a granting policy ties the row to the caller's identity: it reads
    the caller (auth.uid(), a user function) and a column of the row itself."""
    ev = Evaluator(Caller.CUSTOMER, functions)
    for p in granting:
        for expr in (_text(p["using_expr"]), _text(p["check_expr"])):
            tree = parse_expr(expr) if expr else None
            if tree is not None and ev.uses_user(tree) and _reads_row(tree, str(p["table"])):
                return "own rows"
    return "rows matching the policy"


def _reads_row(node: Any, table: str, nested: bool = False) -> bool:
    """Does the expression read a column of the policy's row (unqualified outside a
    subquery, or qualified with the table's name anywhere)?"""
    if isinstance(node, ast.ColumnRef):
        names = [getattr(f, "sval", None) for f in node.fields]
        return (len(names) == 1 and not nested) or (len(names) >= 2 and names[-2] == table)
    if isinstance(node, (tuple, list)):
        return any(_reads_row(n, table, nested) for n in node)
    if isinstance(node, ast.Node):
        inner = nested or isinstance(node, ast.SelectStmt)
        return any(_reads_row(getattr(node, a), table, inner) for a in node)
    return False
