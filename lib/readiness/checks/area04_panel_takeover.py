"""Area 4 — a panel id the customer writes (issue 16, attack paths through the panel):
an INSERT/UPDATE policy lets a signed-in customer set a column (`pterodactyl_user_id`,
`panel_server_id`), an Edge Function reads that column back and uses it as the id of a
panel user or server in an application-API call made with the panel's admin key. The
customer sets it to someone else's id and the function resets that user's password or
acts on that server.

Facts: `schema_rls_writes` (grants × RLS × policies per role and column) ×
`code_panel_calls` (rules/panel_access.py: each id a `/api/application` call sends, and
the table and column it was selected from). The read's client role is told, not judged:
a user-JWT client reads the caller's own row, and that row's column is what the caller
wrote. An id kept in the caller's user_metadata is the same chain without a policy: every
user sets their own user_metadata (app_metadata only the service role sets). Ids looked up
in a table customers cannot write, the signed-in user's own id or the environment are no
finding here (a request-body id is SEC-* ownership's job).

Severity: critical for a write to an existing user (`/users/{id}` PATCH/PUT/DELETE) or
any write to `/servers/{id}`; high for a read of someone's user or server and for a
server created for a panel user the customer chose (the server lands in that account).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_rls import policy_location
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, passed, records
from readiness.findings import Severity

WHO = {"authenticated": "a signed-in customer", "anon": "an anonymous caller"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def writable(writes: pd.DataFrame, table: str, column: str) -> pd.DataFrame:
    """INSERT/UPDATE rows letting anon or authenticated set `table.column` (public schema
    first), the customer's UPDATE before INSERT, authenticated before anon."""
    same = writes[
        (writes["table"] == table)
        & (writes["column"] == column)
        & writes["command"].isin(["INSERT", "UPDATE"])
        & writes["allowed"].fillna(False).astype(bool)
    ]
    if same["schema"].nunique() > 1:
        same = same[same["schema"] == "public"]
    order = {"authenticated": 0, "anon": 1}
    rank = [
        order.get(str(r), 2) * 2 + (str(c) != "UPDATE")
        for r, c in zip(same["role"], same["command"], strict=True)
    ]
    return same.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def policy_step(inp: CheckInput, w: pd.Series, table: str) -> Step:
    """The chain's first step: the policy (or grant) that lets an API role set the column."""
    policy = w["policy"] if "policy" in w and pd.notna(w["policy"]) else None
    return Step(
        f"{WHO.get(str(w['role']), w['role'])} may {w['command']} {table}.{w['column']} "
        f"({w['how']})",
        policy_location(inp, str(w["schema"]), str(table), policy),
        f"policy:{w['schema']}.{table}.{str(w['command']).lower()}",
    )


def _impact(call: pd.Series) -> tuple[Severity, str]:
    method, field = str(call["method"]), str(call["field"])
    if field == "url:users" and method in WRITES:
        keys = set(str(call["body_keys"] or "").split(","))
        what = (
            "resets that panel user's password"
            if "password" in keys
            else (f"changes that panel user ({method})")
        )
        return Severity.CRITICAL, what
    if field == "url:servers" and method in WRITES:
        return Severity.CRITICAL, f"acts on that server ({method} {call['url']})"
    if field == "body:user" and method == "POST":
        return Severity.HIGH, "has the server created in that panel user's account"
    if field == "body:user":
        return Severity.HIGH, "gives the server to that panel user"
    return Severity.HIGH, f"reads that panel {field.split(':')[-1][:-1]} ({call['url']})"


@check(
    id="SEC-PATH-PANEL-ID-TAKEOVER",
    area=4,
    severity=Severity.CRITICAL,
    title="Panel ids sent with the admin key do not come from columns customers can write",
    sources=["codebase", "schema"],
    tables=["code_panel_calls", "schema_rls_writes"],
    optional_tables=["code_sql_objects"],
    rationale="The panel's application key can act on every user and server. When the id "
    "it acts on is read from a row the customer can UPDATE through PostgREST, the customer "
    "chooses the id: set pterodactyl_user_id to another customer's panel user and the "
    "password reset lands on their account.",
    remediation="Keep panel ids in a table only the service role writes (revoke the "
    "customer's UPDATE/INSERT on the column, or drop the policy), and check the panel "
    "user's external_id against the signed-in user before acting.",
)
def panel_id_takeover(inp: CheckInput) -> Iterator[Result]:
    calls = inp["code_panel_calls"]
    writes = inp["schema_rls_writes"]
    rows = calls[calls["origin"] == "row"].sort_values(["path", "line"])
    found, chained = 0, set()
    for slug, group in rows.groupby("function_slug", sort=True):
        options = []
        for i, c in group.iterrows():
            who = writable(writes, str(c["table"]), str(c["column"]))
            if not who.empty:
                severity, harm = _impact(c)
                options.append((severity != Severity.CRITICAL, i, severity, harm, who))
        if not options:
            continue
        _, index, severity, harm, who = min(options, key=lambda o: (o[0], o[1]))
        call = group.loc[index]
        table, column = call["table"], call["column"]
        w = who.iloc[0]
        found += 1
        chained.add(f"function:{slug}")
        steps = [
            policy_step(inp, w, str(table)),
            Step(
                f"{slug} selects {table}.{column} with a {call['source_role']} client",
                code_location(call["path"], call["source_line"]),
                f"read:{table}.{column}",
            ),
            Step(
                f"{slug} sends it as the panel id of {call['method']} {call['url']}",
                code_location(call["path"], call["line"]),
                f"function:{slug}",
            ),
        ]
        yield attack_path(
            f"function:{slug}",
            f"{slug} uses {table}.{column} as the id in {call['method']} {call['url']} "
            f"with the panel's application key, and {WHO.get(str(w['role']), w['role'])} "
            f"can set that column: setting it to another account's id {harm}.",
            steps,
            severity=severity,
            cause=("SEC-RLS-CUSTOMER-WRITES", f"table:{w['schema']}.{table}")
            if w["role"] == "authenticated"
            else None,
            evidence={
                "calls": records(
                    group[["path", "line", "method", "url", "field", "table", "column"]]
                ),
                "writers": records(who[["role", "command", "how"]]),
            },
        )
    for slug, group in calls[calls["origin"] == "user_metadata"].groupby("function_slug"):
        if f"function:{slug}" in chained:
            continue
        call = min(group.to_dict("records"), key=lambda c: _impact(c)[0] != Severity.CRITICAL)
        severity, harm = _impact(call)
        found += 1
        yield attack_path(
            f"function:{slug}",
            f"{slug} uses an id from the caller's user_metadata in {call['method']} "
            f"{call['url']} with the panel's application key; every user can set their own "
            f"user_metadata (supabase.auth.updateUser({{ data }})): setting it to another "
            f"account's id {harm}.",
            [
                Step(
                    f"{slug} reads the panel id from auth.getUser()'s user_metadata, which the "
                    "signed-in user writes freely",
                    code_location(call["path"], call["source_line"]),
                    f"read:user_metadata:{slug}",
                ),
                Step(
                    f"{slug} sends it as the panel id of {call['method']} {call['url']}",
                    code_location(call["path"], call["line"]),
                    f"function:{slug}",
                ),
            ],
            severity=severity,
            evidence={"calls": records(group[["path", "line", "method", "url", "field"]])},
        )
    if not found:
        yield passed(
            "panel:ids",
            f"{len(rows)} panel id(s) read from a table; none from a column an API role can write.",
        )
