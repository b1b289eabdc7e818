"""Area 4 — "whoever asks first becomes admin" (issue 16, attack paths across SQL and the
API): a function grants the admin role when no admin exists yet, and anon or any signed-in
customer may call it through /rest/v1/rpc. On a fresh deployment (or after the last admin
row is deleted) the first caller takes the platform: every order, server and customer.

Facts: `code_admin_bootstraps` (rules/admin_bootstrap.py: the emptiness test, the grant,
its grantee) × `schema_functions` (EXECUTE for anon / authenticated as the catalog grants
it, PUBLIC unless revoked). Not a finding: a grant that needs an existing admin (the
function tests the caller's own admin role), a function only the service role may run
(EXECUTE revoked from PUBLIC, anon and authenticated), a migration seeding a fixed admin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location, function_location
from readiness.checks.registry import CheckInput, Result, check, passed
from readiness.findings import Severity

ROLES = (("anon", "anon_execute"), ("authenticated", "authenticated_execute"))


def sql_callers(functions: pd.DataFrame, name: str) -> list[str]:
    """The API roles (anon, authenticated) that may EXECUTE a SQL function, from the
    replayed catalog."""
    schema, _, fn = name.rpartition(".")
    rows = functions[(functions["schema"] == (schema or "public")) & (functions["name"] == fn)]
    return [
        role
        for role, col in ROLES
        if rows[col].fillna(False).astype(bool).any()  # any overload the role may call
    ]


def _edge_callers(inp: CheckInput, slug: str) -> tuple[list[str], str | None]:
    """Who may call an edge function: nobody but the service role when it checks a secret
    exactly and fail-closed; anyone with verify_jwt off; else any signed-in user."""
    facts = inp.tables.get("code_auth_facts")
    if facts is not None and not facts.empty:
        mine = facts[(facts["function_slug"] == slug) & (facts["fact"] == "internal_check")]
        if (mine["kind"].eq("exact") & mine["strict"].fillna(False).astype(bool)).any():
            return [], None
    funcs = inp.tables.get("code_functions")
    row = funcs[funcs["slug"] == slug] if funcs is not None else None
    if row is None or row.empty:
        return [], None
    path = str(row.iloc[0]["path"]) if pd.notna(row.iloc[0]["path"]) else None
    jwt = row.iloc[0]["verify_jwt_effective"]
    open_ = pd.notna(jwt) and not bool(jwt)
    return (["anyone (verify_jwt = false)"] if open_ else ["any signed-in user"]), path


@check(
    id="SEC-PATH-ADMIN-BOOTSTRAP",
    area=4,
    severity=Severity.CRITICAL,
    title="No API caller can make themselves admin while no admin exists",
    sources=["codebase", "schema"],
    tables=["code_admin_bootstraps", "schema_functions"],
    optional_tables=["code_sql_objects", "code_functions", "code_auth_facts"],
    rationale="A function that grants the admin role when none exists yet is a race anyone "
    "can win: EXECUTE goes to PUBLIC unless revoked, so the first anonymous or signed-in "
    "caller of /rest/v1/rpc/<function> after a deploy (or after the last admin row is "
    "removed) becomes admin of the whole platform.",
    remediation="Seed the first admin out of band (a migration or the dashboard, with a "
    "known user id), drop the bootstrap function, or REVOKE EXECUTE ON FUNCTION … FROM "
    "PUBLIC, anon, authenticated so only the service role can run it.",
)
def admin_bootstrap(inp: CheckInput) -> Iterator[Result]:
    grants = inp["code_admin_bootstraps"]
    functions = inp["schema_functions"]
    found = 0
    for _, row in grants.sort_values(["path", "line"]).iterrows():
        if pd.notna(row["caller_admin_test"]) and bool(row["caller_admin_test"]):
            continue
        name = str(row["function"])
        if name.startswith("function:"):
            callers, where = _edge_callers(inp, name.removeprefix("function:"))
        else:
            schema, _, short = name.rpartition(".")
            where = function_location(inp, schema or "public", short)
            callers = sql_callers(functions, name)
        if not callers:
            continue
        found += 1
        whom = (
            "the caller"
            if row["grantee"] == "caller"
            else f"the user id the caller passes ({str(row['grantee']).removeprefix('param:')})"
            if str(row["grantee"]).startswith("param:")
            else "a user"
        )
        steps = [
            Step(
                f"{name} tests that no admin exists yet ({row['test']})",
                code_location(row["path"], row["test_line"]),
                f"test:{name}",
            ),
            Step(
                f"and then writes the admin role into {row['table']} for {whom}",
                code_location(row["path"], row["line"]),
                f"grant:{row['table']}",
            ),
            Step(
                f"{' and '.join(callers)} may call {name}"
                + ("" if name.startswith("function:") else " (EXECUTE, /rest/v1/rpc)"),
                where,
                name if name.startswith("function:") else f"function:{name}",
            ),
        ]
        yield attack_path(
            name if name.startswith("function:") else f"function:{name}",
            f"{name} makes {whom} admin when no admin exists, and {' and '.join(callers)} "
            "may call it: the first caller after a deploy takes over the platform.",
            steps,
            evidence={"grantee": str(row["grantee"]), "callers": callers, "test": row["test"]},
        )
    if not found:
        yield passed(
            "functions:admin-bootstrap",
            "No function an API role may call grants admin while no admin exists.",
        )
