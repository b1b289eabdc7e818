"""Area 4 — row-level security: what a signed-in customer or an anonymous caller can write.

Facts come from the schema source (`schema_rls_writes`: privileges × RLS × policy
expressions parsed with pglast), the same in live and migrations mode; policy locations
come from the migrations when the codebase was read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.registry import CheckInput, Result, check, failed, passed, records
from readiness.findings import Severity

# Columns whose value is money or state the business decides, never the customer.
SENSITIVE = re.compile(
    r"^(status|.*_status|state|amount.*|.*_cents|.*price.*|plan|plan_id|currency|term|"
    r"stripe_.*|pterodactyl_.*|node_id|paid.*|total.*|role|is_admin|credits?|balance)$"
)


def policy_location(inp: CheckInput, schema: str, table: str, name: str | None) -> str | None:
    """`path:line` of the CREATE POLICY (or of the table) in the migrations, if known."""
    objs = inp.tables.get("code_sql_objects")
    if objs is None or objs.empty:
        return None
    same = objs[(objs["schema"] == schema) & (objs["table"] == table)]
    hit = same[(same["kind"] == "policy") & (same["name"] == name)] if name else same.iloc[0:0]
    if hit.empty:
        hit = same[same["kind"] == "table"]
    if hit.empty:
        return None
    row = hit.iloc[-1]
    return f"{row['path']}:{int(row['line'])}"


def _allowed(inp: CheckInput, role: str) -> pd.DataFrame:
    w = inp["schema_rls_writes"]
    return w[(w["role"] == role) & w["allowed"].fillna(False).astype(bool)]


@check(
    id="SEC-RLS-CUSTOMER-WRITES",
    area=4,
    severity=Severity.CRITICAL,
    title="Customers cannot write money- or state-bearing columns of their own rows",
    sources=["schema"],
    tables=["schema_rls_writes"],
    optional_tables=["code_sql_objects"],
    rationale="A policy letting a signed-in customer UPDATE their own order lets them mark it "
    "paid or active, change its plan or its amount: the browser holds the anon key and "
    "talks to PostgREST directly.",
    remediation="Drop the INSERT/UPDATE policy (writes go through Edge Functions with the "
    "service role), or restrict the columns with column-level GRANTs.",
)
def customer_writes(inp: CheckInput) -> Iterator[Result]:
    allowed = _allowed(inp, "authenticated")
    allowed = allowed[allowed["command"].isin(["INSERT", "UPDATE"])]
    bad = allowed[allowed["column"].fillna("").str.match(SENSITIVE)]
    for (schema, table), group in bad.groupby(["schema", "table"], sort=True):
        policy = group["policy"].dropna()
        name = str(policy.iloc[0]) if not policy.empty else None
        cols = sorted(set(group["column"]))
        cmds = sorted(set(group["command"]))
        yield failed(
            f"table:{schema}.{table}",
            f"A signed-in customer can {'/'.join(cmds)} {', '.join(cols)} on "
            f"{schema}.{table} ({group['how'].iloc[0]}, {group['scope'].iloc[0]}).",
            location=policy_location(inp, schema, table, name),
            evidence={"writes": records(group[["command", "column", "scope", "how"]])},
        )
    if bad.empty:
        yield passed(
            "rls:authenticated",
            "No policy lets a signed-in customer write money- or state-bearing columns.",
        )


@check(
    id="SEC-RLS-ANON-WRITE",
    area=4,
    severity=Severity.CRITICAL,
    title="Anonymous callers cannot write any table",
    sources=["schema"],
    tables=["schema_rls_writes"],
    optional_tables=["code_sql_objects"],
    rationale="The anon key ships in the browser bundle: anything anon can write, anyone on "
    "the internet can write.",
    remediation="Enable RLS and give anon no INSERT/UPDATE/DELETE policy (or revoke the "
    "privileges from anon).",
)
def anon_writes(inp: CheckInput) -> Iterator[Result]:
    allowed = _allowed(inp, "anon")
    for (schema, table), group in allowed.groupby(["schema", "table"], sort=True):
        policy = group["policy"].dropna()
        yield failed(
            f"table:{schema}.{table}",
            f"An anonymous caller can {'/'.join(sorted(set(group['command'])))} "
            f"{schema}.{table} ({group['how'].iloc[0]}).",
            location=policy_location(
                inp, schema, table, str(policy.iloc[0]) if not policy.empty else None
            ),
            evidence={"writes": records(group[["command", "column", "how"]])},
        )
    if allowed.empty:
        yield passed("rls:anon", "No table can be written by an anonymous caller.")


@check(
    id="SEC-RLS-NULL-UID",
    area=4,
    severity=Severity.CRITICAL,
    title="No policy admits a caller without a user (auth.uid() IS NULL)",
    sources=["schema"],
    tables=["schema_policies"],
    optional_tables=["code_sql_objects"],
    rationale="`auth.uid() IS NULL` is true for every anonymous request: the policy opens the "
    "table to anyone holding the public anon key.",
    remediation="Remove the `auth.uid() IS NULL` branch; server-side jobs use the service "
    "role, which bypasses RLS anyway.",
)
def null_uid(inp: CheckInput) -> Iterator[Result]:
    pol = inp["schema_policies"]
    bad = pol[pol["null_uid_test"].fillna(False).astype(bool)]
    for row in bad.itertuples():
        expr = row.check_expr if pd.notna(row.check_expr) else row.using_expr
        yield failed(
            f"policy:{row.schema}.{row.table}:{row.name}",
            f'Policy "{row.name}" ({row.command}) on {row.schema}.{row.table} is true when '
            f"there is no user: {expr}",
            location=policy_location(inp, row.schema, row.table, row.name),
        )
    if bad.empty:
        yield passed("policies", f"None of {len(pol)} policies tests auth.uid() IS NULL.")
