"""Area 5 — schema: required tables and columns, status CHECK constraints, RLS coverage,
SECURITY DEFINER functions, and the UNIQUE guard that makes the webhook idempotent.

Works the same on the live catalog and on the migrations applied to a scratch database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_rls import policy_location
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    unverified,
    warned,
)
from readiness.findings import Severity

EXPOSED_SCHEMAS = ("public",)
# table -> {column: type family}; what the purchase flow cannot work without
REQUIRED: dict[str, dict[str, str]] = {
    "plans": {"id": "", "stripe_price_id": "text", "active": "bool", "ram_gb": "int"},
    "orders": {
        "id": "",
        "user_id": "uuid",
        "plan_id": "",
        "status": "text",
        "region": "text",
        "stripe_subscription_id": "text",
        "pterodactyl_server_id": "int",
    },
    "ptero_nodes": {"id": "", "region": "text", "enabled": "bool", "max_ram_gb": "int"},
    "external_accounts": {"user_id": "uuid", "pterodactyl_user_id": "int"},
}
FAMILIES = {
    "text": ("text", "character varying", "character", "citext"),
    "int": ("integer", "bigint", "smallint", "numeric"),
    "bool": ("boolean",),
    "uuid": ("uuid",),
}


def allowed_for(checks: pd.DataFrame, table: str, column: str) -> list[str] | None:
    """Values the CHECK constraints of public.<table>.<column> admit (None: unconstrained)."""
    same = checks[(checks["schema"] == "public") & (checks["table"] == table)]
    for row in same.itertuples():
        cols = str(row.columns).split(",") if pd.notna(row.columns) else []
        if column in cols and pd.notna(row.allowed_values):
            return list(json.loads(row.allowed_values))
    return None


@check(
    id="DB-SCHEMA-REQUIRED",
    area=5,
    severity=Severity.HIGH,
    title="Required tables and columns exist with the expected types",
    sources=["schema"],
    tables=["schema_columns"],
    rationale="The functions read and write these columns; a missing one fails every purchase "
    "at run time, after the customer paid.",
    remediation="Add the table/column in a migration (and apply it to production).",
)
def required_columns(inp: CheckInput) -> Iterator[Result]:
    cols = inp["schema_columns"]
    cols = cols[cols["schema"] == "public"]
    for table, wanted in REQUIRED.items():
        have = cols[cols["table"] == table].set_index("column")["data_type"].to_dict()
        if not have:
            yield failed(f"table:public.{table}", f"Table public.{table} does not exist.")
            continue
        problems = []
        for col, family in wanted.items():
            if col not in have:
                problems.append(f"{col} missing")
            elif family and not str(have[col]).startswith(FAMILIES[family]):
                problems.append(f"{col} is {have[col]}, expected {family}")
        if problems:
            yield failed(f"table:public.{table}", f"public.{table}: {'; '.join(problems)}.")
        else:
            yield passed(f"table:public.{table}", f"public.{table} has every required column.")


@check(
    id="DB-STATUS-CHECK",
    area=5,
    severity=Severity.HIGH,
    title="Status CHECK constraints allow every status the code writes and params call active",
    sources=["schema", "codebase"],
    tables=["schema_check_constraints", "code_status_writes"],
    rationale="A status the CHECK rejects makes the UPDATE fail: the order stays stuck in its "
    "previous state (or the webhook 500s and Stripe retries forever).",
    remediation="Write only statuses the constraint allows, or extend the CHECK in a migration.",
)
def status_check(inp: CheckInput) -> Iterator[Result]:
    checks, writes = inp["schema_check_constraints"], inp["code_status_writes"]
    wanted: dict[tuple[str, str], dict[str, str | None]] = {}
    for row in writes.dropna(subset=["table"]).itertuples():
        key = (str(row.table).removeprefix("public."), str(row.column))
        wanted.setdefault(key, {}).setdefault(str(row.value), code_location(row.path, row.line))
    for status in inp.config.active_statuses:
        wanted.setdefault(("orders", "status"), {}).setdefault(status, None)
    for (table, column), values in sorted(wanted.items()):
        allowed = allowed_for(checks, table, column)
        if allowed is None:
            yield warned(
                f"column:public.{table}.{column}",
                f"public.{table}.{column} has no CHECK listing its values: any typo is stored.",
            )
            continue
        for value, loc in sorted(values.items()):
            res = f"status:public.{table}.{value}"
            origin = f"written at {loc}" if loc else "an active status in params"
            if value in allowed:
                yield passed(res, f"'{value}' ({origin}) is allowed by the CHECK.", location=loc)
            else:
                yield failed(
                    res,
                    f"'{value}' ({origin}) is rejected by the CHECK on public.{table}.{column} "
                    f"(allowed: {', '.join(allowed)}).",
                    location=loc,
                )


@check(
    id="DB-RLS-ENABLED",
    area=5,
    severity=Severity.CRITICAL,
    title="Row-level security is enabled on every exposed table",
    sources=["schema"],
    tables=["schema_tables"],
    optional_tables=["code_sql_objects"],
    rationale="Tables in the API schema without RLS can be read and written by anyone with the "
    "public anon key.",
    remediation="ALTER TABLE ... ENABLE ROW LEVEL SECURITY, then add the policies it needs.",
)
def rls_enabled(inp: CheckInput) -> Iterator[Result]:
    t = inp["schema_tables"]
    t = t[t["schema"].isin(EXPOSED_SCHEMAS) & t["kind"].isin(["table", "partitioned"])]
    for row in t.itertuples():
        res = f"table:{row.schema}.{row.table}"
        if bool(row.rls_enabled):
            yield passed(res, f"RLS is enabled on {row.schema}.{row.table}.")
        else:
            yield failed(
                res,
                f"RLS is disabled on {row.schema}.{row.table}: the anon key can read and write it.",
                location=policy_location(inp, row.schema, row.table, None),
            )
    if t.empty:
        yield passed("tables", "No tables in the exposed schemas.")


@check(
    id="DB-RLS-NO-POLICY",
    area=5,
    severity=Severity.LOW,
    title="Tables with RLS have at least one policy (or are meant to be service-only)",
    sources=["schema"],
    tables=["schema_rls"],
    optional_tables=["code_sql_objects"],
    rationale="RLS with no policy denies every API caller; fine for service-only tables, a bug "
    "when the frontend expects to read them.",
    remediation="Add the SELECT policy the frontend needs, or document the table as "
    "service-role only.",
)
def rls_no_policy(inp: CheckInput) -> Iterator[Result]:
    r = inp["schema_rls"]
    r = r[r["schema"].isin(EXPOSED_SCHEMAS) & r["rls_enabled"].fillna(False).astype(bool)]
    for row in r.itertuples():
        res = f"table:{row.schema}.{row.table}"
        if int(row.policies or 0) == 0:
            yield warned(
                res,
                f"{row.schema}.{row.table} has RLS but no policy: only the service role "
                "can use it.",
                location=policy_location(inp, row.schema, row.table, None),
            )
        else:
            yield passed(res, f"{row.schema}.{row.table} has {row.policies} policy(ies).")
    if r.empty:
        yield passed("tables", "No table with RLS enabled in the exposed schemas.")


@check(
    id="DB-SECDEF-SEARCH-PATH",
    area=5,
    severity=Severity.HIGH,
    title="SECURITY DEFINER functions set a fixed search_path",
    sources=["schema"],
    tables=["schema_functions"],
    optional_tables=["code_sql_objects"],
    rationale="A SECURITY DEFINER function runs with its owner's rights; without a fixed "
    "search_path a caller can shadow the tables or functions it uses.",
    remediation="Add `SET search_path = ''` (or `= public`) to the function definition.",
)
def secdef_search_path(inp: CheckInput) -> Iterator[Result]:
    f = inp["schema_functions"]
    f = f[f["security_definer"].fillna(False).astype(bool)]
    objs = inp.tables.get("code_sql_objects")
    for row in f.itertuples():
        loc = None
        if objs is not None:
            hit = objs[
                (objs["kind"] == "function")
                & objs["name"].isin([row.name, f"{row.schema}.{row.name}"])
            ]
            loc = (
                code_location(hit.iloc[-1]["path"], hit.iloc[-1]["line"]) if not hit.empty else None
            )
        res = f"function:{row.schema}.{row.name}"
        if bool(row.search_path_set):
            yield passed(res, f"{row.schema}.{row.name} fixes its search_path.", location=loc)
        else:
            yield failed(
                res,
                f"SECURITY DEFINER function {row.schema}.{row.name}({row.args}) has no fixed "
                "search_path.",
                location=loc,
            )
    if f.empty:
        yield passed("functions", "No SECURITY DEFINER functions.")


@check(
    id="DB-ORDER-UNIQUE-SUBSCRIPTION",
    area=5,
    severity=Severity.HIGH,
    title="A UNIQUE guard allows one order per subscription",
    sources=["schema"],
    tables=["schema_indexes", "schema_columns"],
    rationale="Stripe delivers events at least once; without a unique key a retried webhook "
    "creates a second order and a second server for one payment.",
    remediation="CREATE UNIQUE INDEX ON public.orders (stripe_subscription_id) (or on the "
    "checkout session id), and upsert/ignore conflicts in the webhook.",
)
def unique_subscription(inp: CheckInput) -> Iterator[Result]:
    cols = inp["schema_columns"]
    if cols[(cols["schema"] == "public") & (cols["table"] == "orders")].empty:
        yield unverified("table:public.orders", "There is no public.orders table to check.")
        return
    idx = inp["schema_indexes"]
    idx = idx[(idx["schema"] == "public") & (idx["table"] == "orders")]
    keys = {"stripe_subscription_id", "stripe_checkout_session_id"}
    guard = idx[idx["unique"].fillna(False).astype(bool) & idx["columns"].isin(keys)]
    if guard.empty:
        yield failed(
            "table:public.orders",
            "No UNIQUE index on orders.stripe_subscription_id or stripe_checkout_session_id: a "
            "retried webhook can record the same payment twice.",
        )
    else:
        yield passed(
            "table:public.orders", f"Unique guard: {', '.join(guard['name'].astype(str))}."
        )
