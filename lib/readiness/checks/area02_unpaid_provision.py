"""Area 2 — servers built without a payment (issue 16, attack paths): an Edge Function
creates panel servers (`POST /api/application/servers`) from rows of a table where a
signed-in customer can set the status (or a paid flag) through PostgREST, and nothing in
the function asks Stripe whether the purchase was paid. The customer inserts a row marked
'paid' (or updates theirs) and gets a server for free.

Facts: `code_panel_calls` (server creates), `code_table_uses` (what the function selects),
`code_payment_checks` (a Stripe `*.retrieve` of the session, payment intent or
subscription, or the webhook's signature verification), `schema_rls_writes`. A function
that verifies with Stripe, and tables only the service role writes, are no finding; nor is
a function only internal callers can run (an exact shared-secret check and no user check)
that no schedule runs: the customer's row reaches it only through a caller that chose the
order (the verified webhook), so marking a row paid starts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_auth import CALLER_CHECKS, function_facts, strong_callers
from readiness.checks.area04_panel_takeover import WHO, policy_step, writable
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, passed, records
from readiness.findings import Severity

STATE = re.compile(r"^(status|.*_status|state|paid|is_paid|paid_at|.*_paid|payment_.*)$")
CREATE = re.compile(r"^/api/application/servers/?(\?.*)?$")


def _internal_only(inp: CheckInput) -> set[str]:
    """Functions a customer cannot start: an exact internal-secret check, no user check,
    and no pg_cron schedule (which would pick rows by their status)."""
    if "code_auth_facts" not in inp.tables or "code_function_files" not in inp.tables:
        return set()
    facts = function_facts(inp)
    internal = strong_callers(facts) - set(
        facts.loc[
            (facts["fact"] == "caller_check") & facts["kind"].isin(CALLER_CHECKS), "function_slug"
        ]
    )
    calls = inp.tables.get("code_function_calls")
    if calls is not None and not calls.empty:
        internal -= set(calls.loc[calls["scheduled"].fillna(False).astype(bool), "target"])
    return internal


def _state_writes(writes: pd.DataFrame, table: str) -> pd.DataFrame:
    cols = writes[(writes["table"] == table)]["column"].dropna().astype(str)
    hits = [writable(writes, table, c) for c in sorted(set(cols)) if STATE.match(c)]
    hits = [h for h in hits if not h.empty]
    return pd.concat(hits) if hits else writes.iloc[0:0]


@check(
    id="FLOW-PATH-UNPAID-PROVISION",
    area=2,
    severity=Severity.CRITICAL,
    title="Servers are only created for purchases Stripe confirms",
    sources=["codebase", "schema"],
    tables=["code_panel_calls", "code_table_uses", "code_payment_checks", "schema_rls_writes"],
    optional_tables=[
        "code_sql_objects",
        "code_auth_facts",
        "code_function_files",
        "code_function_calls",
    ],
    rationale="A status column the customer can write is no proof of payment: with the "
    "anon key and their session, a customer inserts or updates the row to 'paid' and the "
    "function that builds servers from such rows gives them one for free.",
    remediation="Create servers only from the signature-verified Stripe webhook, or "
    "retrieve the Checkout Session / PaymentIntent from Stripe and check it is paid "
    "before creating; and take INSERT/UPDATE of the status away from customers.",
)
def unpaid_provision(inp: CheckInput) -> Iterator[Result]:
    calls = inp["code_panel_calls"]
    uses = inp["code_table_uses"]
    checks = inp["code_payment_checks"]
    writes = inp["schema_rls_writes"]
    creates = calls[
        (calls["method"] == "POST") & calls["url"].fillna("").str.match(CREATE)
    ].drop_duplicates(["function_slug", "path", "line"])
    found = 0
    internal = _internal_only(inp)
    for slug, group in creates.sort_values(["path", "line"]).groupby("function_slug"):
        if (checks["function_slug"] == slug).any() or slug in internal:
            continue
        create = group.iloc[0]
        reads = uses[(uses["function_slug"] == slug) & uses["use"].isin(["read", "from"])]
        for table in sorted(set(reads["table"].dropna().astype(str))):
            who = _state_writes(writes, table)
            if who.empty:
                continue
            w = who.iloc[0]
            read = reads[reads["table"] == table].sort_values(["line"]).iloc[0]
            actor = WHO.get(str(w["role"]), str(w["role"]))
            found += 1
            steps = [
                policy_step(inp, w, table),
                Step(
                    f"{slug} reads {table} rows with a {read['client_role']} client",
                    code_location(read["path"], read["line"]),
                    f"read:{table}",
                ),
                Step(
                    f"{slug} creates the server (POST {create['url']}) without asking Stripe",
                    code_location(create["path"], create["line"]),
                    f"function:{slug}",
                ),
            ]
            yield attack_path(
                f"function:{slug}",
                f"{slug} creates panel servers from {table} rows, {actor} can "
                f"{w['command']} {table}.{w['column']}, and the function never verifies the "
                "payment with Stripe: a row marked paid by the customer gets a free server.",
                steps,
                cause=("SEC-RLS-CUSTOMER-WRITES", f"table:{w['schema']}.{table}")
                if w["role"] == "authenticated"
                else None,
                evidence={"writers": records(who[["role", "command", "column", "how"]])},
            )
            break  # one finding a function: the first table that lets the customer in
    if not found:
        yield passed(
            "provision:payment",
            f"{creates['function_slug'].nunique()} function(s) create servers; none from "
            "rows a customer can mark paid without a Stripe check.",
        )
