"""What an anonymous caller or a signed-in customer can write: grants x RLS x policies.

Split from the schema source because it is analysis rather than collection: it works on
the catalog tables alone (the same in migrations and live mode) and is the one place
that decides whether a policy lets a write through (`schema_rls_writes`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

API_ROLES = ("anon", "authenticated")
WRITE_COMMANDS = ("INSERT", "UPDATE", "DELETE")


def _roles_of(roles: Any) -> set[str]:
    return {r.strip() for r in str(roles or "public").split(",") if r.strip()}


def rls_writes(
    tables: pd.DataFrame, columns: pd.DataFrame, policies: pd.DataFrame, grants: pd.DataFrame
) -> list[dict]:
    """What anon and authenticated can INSERT/UPDATE/DELETE: privileges × RLS × policies.

    A write is allowed when the role holds the privilege (table or column grant, to the
    role or PUBLIC) and either RLS is off or a permissive policy for the command and role
    exists. For anon, a policy that requires a signed-in user (auth.uid() compared, not
    tested for NULL) does not count. Allowed writes get one row per writable column.
    """
    out: list[dict] = []
    base = tables[tables["kind"].isin(["table", "partitioned"])]
    for t in base.to_dict("records"):
        key = (t["schema"], t["table"])
        tcols = columns[(columns["schema"] == key[0]) & (columns["table"] == key[1])]
        tgrants = grants[(grants["schema"] == key[0]) & (grants["table"] == key[1])]
        tpol = policies[(policies["schema"] == key[0]) & (policies["table"] == key[1])]
        for role in API_ROLES:
            mine = tgrants[tgrants["grantee"].isin([role, "PUBLIC"])]
            for cmd in WRITE_COMMANDS:
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
                        }
                        for c in cols
                    ]
                    continue
                for_role = [bool({role, "public"} & _roles_of(r)) for r in tpol["roles"]]
                usable = tpol[
                    tpol["command"].isin([cmd, "ALL"]).to_numpy(dtype=bool)
                    & tpol["permissive"].fillna(True).to_numpy(dtype=bool)
                    & pd.Series(for_role, dtype=bool).to_numpy()
                ]
                if role == "anon":
                    usable = usable[usable["admits_no_user"].fillna(True).astype(bool)]
                if usable.empty:
                    out.append({**row, "allowed": False, "how": "RLS on, no policy admits it"})
                    continue
                pol = usable.iloc[0]
                scope = (
                    "own rows"
                    if bool(pol["uses_auth"]) and not bool(pol["admits_no_user"])
                    else "any row"
                )
                out += [
                    {
                        **row,
                        "column": c,
                        "allowed": True,
                        "scope": scope,
                        "policy": pol["name"],
                        "how": f'{cmd} privilege and policy "{pol["name"]}"',
                    }
                    for c in cols
                ]
    return out
