"""Area 5 — schema: required tables and columns, status CHECK constraints, RLS coverage,
SECURITY DEFINER functions, and the UNIQUE guard that makes the webhook idempotent.

Works the same on the live catalog and on the migrations applied to a scratch database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_rls import policy_location
from readiness.checks.common import code_location, function_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    unverified,
    warned,
)
from readiness.findings import Severity

EXPOSED_SCHEMAS = ("public",)
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A unique key on one of these makes the webhook's order insert idempotent.
PAYMENT_KEY = re.compile(
    r"^(stripe_)?(checkout_)?(session|subscription|sub|payment_intent|invoice|event)(_id)?$"
)
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


def _bare(name: object) -> str:
    return str(name).removeprefix("public.")


def allowed_for(
    checks: pd.DataFrame,
    table: str,
    column: str,
    columns: pd.DataFrame | None = None,
    enums: pd.DataFrame | None = None,
) -> list[str] | None:
    """Values public.<table>.<column> admits: its CHECK's list, or its ENUM type's labels
    (an enum constrains values like a CHECK does); None when unconstrained."""
    same = checks[(checks["schema"] == "public") & (checks["table"] == table)]
    for row in same.itertuples():
        cols = str(row.columns).split(",") if pd.notna(row.columns) else []
        if column in cols and pd.notna(row.allowed_values):
            return list(json.loads(row.allowed_values))
    typ = column_type(columns, table, column)
    if typ and enums is not None and not enums.empty:
        schema, _, name = typ.rpartition(".")
        name = name.strip('"').removesuffix("[]")
        hit = enums[
            (enums["name"] == name) & ((enums["schema"] == schema.strip('"')) | (schema == ""))
        ]
        if not hit.empty:
            return list(json.loads(str(hit.iloc[0]["values"])))
    return None


def column_type(columns: pd.DataFrame | None, table: str, column: str) -> str | None:
    """format_type of public.<table>.<column>, None when the column is not in the schema."""
    if columns is None:
        return None
    hit = columns[
        (columns["schema"] == "public")
        & (columns["table"] == table)
        & (columns["column"] == column)
    ]
    return None if hit.empty else str(hit.iloc[0]["data_type"])


def code_uses(inp: CheckInput) -> dict[str, dict[str, str]]:
    """{table: {column: first `path:line`}} the code reads or writes ('' = the table)."""
    out: dict[str, dict[str, str]] = {}
    for name in ("code_table_uses", "code_query_filters", "code_status_writes"):
        df = inp.tables.get(name)
        if df is None or df.empty:
            continue
        for row in df.dropna(subset=["table"]).sort_values(["path", "line"]).itertuples():
            col = str(row.column).split("->")[0] if isinstance(row.column, str) else ""
            if col and not IDENT.match(col):
                continue  # a JSON path, an embedded table's column, an expression
            out.setdefault(_bare(row.table), {}).setdefault(col, code_location(row.path, row.line))
            out[_bare(row.table)].setdefault("", code_location(row.path, row.line))
    return out


@check(
    id="DB-SCHEMA-REQUIRED",
    area=5,
    severity=Severity.HIGH,
    title="Tables and columns the code uses exist with the expected types",
    sources=["schema"],
    tables=["schema_columns"],
    optional_tables=["code_table_uses", "code_query_filters", "code_status_writes"],
    rationale="The functions read and write these columns; a missing one fails every purchase "
    "at run time, after the customer paid.",
    remediation="Add the table/column in a migration (and apply it to production).",
)
def required_columns(inp: CheckInput) -> Iterator[Result]:
    """Only what the code uses is required: a hosting table the code never names says
    nothing about this platform, and a column is looked for under the code's own name."""
    cols = inp["schema_columns"]
    cols = cols[cols["schema"] == "public"]
    uses = code_uses(inp)
    have_code = any(
        inp.tables.get(n) is not None for n in ("code_table_uses", "code_query_filters")
    )
    for table, wanted in REQUIRED.items():
        used = uses.get(table)
        if have_code and not used:
            yield informed(
                f"table:public.{table}",
                f"The code never uses public.{table}: not required on this platform.",
            )
            continue
        loc = (used or {}).get("")
        have = cols[cols["table"] == table].set_index("column")["data_type"].to_dict()
        if not have:
            yield failed(
                f"table:public.{table}",
                f"Table public.{table} does not exist"
                + (f" (the code uses it at {loc})." if loc else "."),
            )
            continue
        problems = []
        if have_code:
            names = [c for c in wanted if c in used]
            names += sorted(c for c in used if c and c not in wanted)
        else:
            names = list(wanted)
        for col in names:
            family = wanted.get(col, "")
            if col not in have:
                where = (used or {}).get(col)
                problems.append(f"{col} missing" + (f" (used at {where})" if where else ""))
            elif family and not str(have[col]).startswith(FAMILIES[family]):
                problems.append(f"{col} is {have[col]}, expected {family}")
        if problems:
            yield failed(f"table:public.{table}", f"public.{table}: {'; '.join(problems)}.")
        else:
            yield passed(f"table:public.{table}", f"public.{table} has every column the code uses.")


@check(
    id="DB-STATUS-CHECK",
    area=5,
    severity=Severity.HIGH,
    title="Status CHECK constraints allow every status the code writes",
    sources=["schema", "codebase"],
    tables=["schema_check_constraints", "code_status_writes"],
    optional_tables=["schema_columns", "schema_enums", "schema_migrations"],
    rationale="A status the CHECK rejects makes the UPDATE fail: the order stays stuck in its "
    "previous state (or the webhook 500s and Stripe retries forever).",
    remediation="Write only statuses the constraint allows, or extend the CHECK in a migration.",
)
def status_check(inp: CheckInput) -> Iterator[Result]:
    """Statuses come from write sites, never from read filters or the params' list (a
    status nobody writes cannot be rejected); an ENUM column is constrained like a CHECK;
    a column the schema lacks is the required-columns check's."""
    checks, writes = inp["schema_check_constraints"], inp["code_status_writes"]
    columns, enums = inp.tables.get("schema_columns"), inp.tables.get("schema_enums")
    migrations = inp.tables.get("schema_migrations")
    replay_gaps = migrations is not None and not migrations["ok"].fillna(True).astype(bool).all()
    wanted: dict[tuple[str, str], dict[str, str | None]] = {}
    for row in writes.dropna(subset=["table"]).itertuples():
        key = (_bare(row.table), str(row.column))
        wanted.setdefault(key, {}).setdefault(str(row.value), code_location(row.path, row.line))
    for (table, column), values in sorted(wanted.items()):
        res = f"column:public.{table}.{column}"
        if columns is not None and column_type(columns, table, column) is None:
            if replay_gaps:
                yield unverified(
                    res,
                    f"public.{table}.{column} is not in the replayed schema (some migrations "
                    "failed): its allowed values cannot be read.",
                )
            continue
        allowed = allowed_for(checks, table, column, columns, enums)
        if allowed is None:
            yield warned(
                res,
                f"public.{table}.{column} has no CHECK listing its values: any typo is stored.",
            )
            continue
        for value, loc in sorted(values.items()):
            res = f"status:public.{table}.{value}"
            origin = f"written at {loc}"
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
    optional_tables=["code_sql_objects", "schema_grants"],
    rationale="Tables in the API schema without RLS can be read and written by anyone with the "
    "public anon key.",
    remediation="ALTER TABLE ... ENABLE ROW LEVEL SECURITY, then add the policies it needs.",
)
def rls_enabled(inp: CheckInput) -> Iterator[Result]:
    """RLS off matters where the API roles hold privileges: a table revoked from anon and
    authenticated (and PUBLIC) is reachable by the service role only."""
    t = inp["schema_tables"]
    t = t[t["schema"].isin(EXPOSED_SCHEMAS) & t["kind"].isin(["table", "partitioned"])]
    grants = inp.tables.get("schema_grants")
    for row in t.itertuples():
        res = f"table:{row.schema}.{row.table}"
        held: list[str] = []
        if grants is not None:
            mine = grants[(grants["schema"] == row.schema) & (grants["table"] == row.table)]
            held = sorted(set(mine["grantee"].dropna()) & {"anon", "authenticated", "PUBLIC"})
        if bool(row.rls_enabled):
            yield passed(res, f"RLS is enabled on {row.schema}.{row.table}.")
        elif grants is not None and not held:
            yield passed(
                res,
                f"RLS is disabled on {row.schema}.{row.table}, but anon and authenticated "
                "hold no privilege on it: only the service role reaches it.",
            )
        else:
            who = f" ({', '.join(held)} hold privileges)" if held else ""
            yield failed(
                res,
                f"RLS is disabled on {row.schema}.{row.table}: the anon key can read and write "
                f"it{who}.",
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
    for row in f.itertuples():
        loc = function_location(inp, row.schema, row.name)
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
    optional_tables=["code_functions", "code_write_errors"],
    rationale="Stripe delivers events at least once; without a unique key a retried webhook "
    "creates a second order and a second server for one payment.",
    remediation="CREATE UNIQUE INDEX ON public.orders (stripe_subscription_id) (or on the "
    "checkout session id), and upsert/ignore conflicts in the webhook.",
)
def unique_subscription(inp: CheckInput) -> Iterator[Result]:
    """Duplicates come from a webhook that inserts orders; one that only updates an order
    by id cannot create a second. A unique key on the session, subscription or payment
    intent id, under whatever name the schema gives it, is the guard."""
    cols = inp["schema_columns"]
    if cols[(cols["schema"] == "public") & (cols["table"] == "orders")].empty:
        yield unverified("table:public.orders", "There is no public.orders table to check.")
        return
    fns, writes = inp.tables.get("code_functions"), inp.tables.get("code_write_errors")
    inserts = None
    if fns is not None and writes is not None:
        hooks = set(fns[fns["is_stripe_webhook"].fillna(False).astype(bool)]["slug"])
        inserts = writes[
            writes["function_slug"].isin(hooks)
            & writes["table"].fillna("").map(_bare).eq("orders")
            & writes["method"].isin(["insert", "upsert"])
        ]
    idx = inp["schema_indexes"]
    idx = idx[(idx["schema"] == "public") & (idx["table"] == "orders")]
    guard = idx[
        idx["unique"].fillna(False).astype(bool)
        & idx["columns"].fillna("").map(lambda c: any(PAYMENT_KEY.match(x) for x in c.split(",")))
    ]
    if not guard.empty:
        yield passed(
            "table:public.orders", f"Unique guard: {', '.join(guard['name'].astype(str))}."
        )
    elif inserts is not None and inserts.empty:
        yield informed(
            "table:public.orders",
            "No Stripe webhook inserts into public.orders: a retried event cannot create a "
            "second order.",
        )
    else:
        first = None if inserts is None else inserts.sort_values(["path", "line"]).iloc[0]
        yield failed(
            "table:public.orders",
            "No UNIQUE index on an orders payment key (subscription, checkout session or "
            "payment intent id)"
            + (f", and {first['function_slug']} inserts orders" if first is not None else "")
            + ": a retried webhook can record the same payment twice.",
            location=None if first is None else code_location(first["path"], first["line"]),
        )
