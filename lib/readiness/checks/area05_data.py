"""Area 5 — indexes the flow needs, enabled nodes and regions, and the plan seeds in the
migrations compared with the live plans table."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    require_columns,
    warned,
)
from readiness.findings import Severity

# Tables that grow with every customer: a filter on them without an index is a scan.
FLOW_TABLES = frozenset({"orders", "external_accounts", "subscriptions", "servers", "payments"})


def _indexed(indexes: pd.DataFrame, table: str, column: str) -> bool:
    same = indexes[(indexes["schema"] == "public") & (indexes["table"] == table)]
    return any(str(c).split(",")[0] == column for c in same["columns"].dropna())


@check(
    id="DB-FK-INDEX",
    area=5,
    severity=Severity.MEDIUM,
    title="Foreign keys have an index",
    sources=["schema"],
    tables=["schema_foreign_keys"],
    rationale="Without an index on the referencing columns, every delete or update of the "
    "referenced row scans the table, and joins on it are slow.",
    remediation="CREATE INDEX ON <table> (<fk columns>).",
)
def fk_index(inp: CheckInput) -> Iterator[Result]:
    fks = inp["schema_foreign_keys"]
    for row in fks.itertuples():
        res = f"fk:{row.schema}.{row.table}({row.columns})"
        if bool(row.has_index):
            yield passed(res, f"{row.table}({row.columns}) is indexed.")
        else:
            yield failed(
                res,
                f"Foreign key {row.name} {row.table}({row.columns}) → {row.ref_table} "
                "has no index.",
                problem=f"fk-index:{row.schema}",  # one indexing migration fixes them all
            )
    if fks.empty:
        yield passed("foreign-keys", "No foreign keys.")


@check(
    id="DB-FLOW-INDEX",
    area=5,
    severity=Severity.MEDIUM,
    title="Columns the functions filter growing tables by are indexed",
    sources=["schema", "codebase"],
    tables=["schema_indexes", "code_query_filters"],
    rationale="The webhook looks orders up by subscription, provisioning by status: without an "
    "index each lookup scans every order ever sold.",
    remediation="CREATE INDEX ON <table> (<column>).",
)
def flow_index(inp: CheckInput) -> Iterator[Result]:
    filters = inp["code_query_filters"]
    filters = filters[filters["function_slug"].notna() & filters["table"].isin(FLOW_TABLES)]
    seen = filters.sort_values(["path", "line"]).drop_duplicates(["table", "column"])
    for row in seen.itertuples():
        res = f"index:public.{row.table}({row.column})"
        loc = f"{row.path}:{int(row.line)}"
        if _indexed(inp["schema_indexes"], str(row.table), str(row.column)):
            yield passed(res, f"{row.table}.{row.column} is indexed.", location=loc)
        else:
            yield failed(
                res,
                f"{row.function_slug} filters {row.table} by {row.column}, which no index leads "
                "with.",
                location=loc,
            )
    if seen.empty:
        yield passed("filters", "The functions filter no growing table.")


@check(
    id="DB-NODES-REGIONS",
    area=5,
    severity=Severity.HIGH,
    title="Enabled nodes exist, and which regions they serve",
    sources=["database"],
    tables=["db_ptero_nodes"],
    rationale="An order can only be provisioned in a region with an enabled node.",
    remediation="Enable (or add) a node in each region you sell.",
)
def nodes_regions(inp: CheckInput) -> Iterator[Result]:
    nodes = inp["db_ptero_nodes"]
    enabled = nodes[nodes["enabled"].fillna(False).astype(bool)]
    if enabled.empty:
        yield failed("nodes", f"None of {len(nodes)} nodes is enabled: nothing can be provisioned.")
        return
    for region, group in nodes.groupby("region", sort=True):
        on = group[group["enabled"].fillna(False).astype(bool)]
        if on.empty:
            yield warned(f"region:{region}", f"Region {region} has nodes but none enabled.")
        else:
            yield informed(
                f"region:{region}",
                f"Region {region}: {len(on)} enabled node(s) "
                f"({', '.join(on['name'].astype(str))}).",
            )
    yield passed(
        "nodes", f"{len(enabled)} enabled node(s) in {enabled['region'].nunique()} region(s)."
    )


@check(
    id="DB-PLAN-PRICES-MIGRATIONS",
    area=5,
    severity=Severity.MEDIUM,
    title="Price ids the migrations leave match the live plans table",
    sources=["codebase", "database"],
    tables=["code_catalog_writes", "db_plans"],
    rationale="When the repo's catalogue and production disagree, a fresh environment (or a "
    "re-run migration) sells at other prices than production.",
    remediation="Make the catalogue migration the source of truth, or update it from production.",
)
def plan_prices_migrations(inp: CheckInput) -> Iterator[Result]:
    """Each plan as the migrations leave it (inserts, ON CONFLICT and later UPDATEs
    replayed in the CLI's order, area01_seed) against its live row."""
    from readiness.checks.area01_seed import COLUMNS, replay

    writes = require_columns(inp["code_catalog_writes"], "code_catalog_writes", COLUMNS)
    seeded = inp.shared("catalog_seed_replay", lambda: replay(writes)).rows
    plans = {**seeded.get("public.plans", {}), **seeded.get("plans", {})}
    live = (
        inp["db_plans"].set_index("id")["stripe_price_id"].to_dict()
        if "id" in inp["db_plans"]
        else {}
    )
    checked = 0
    for row in plans.values():
        pid, price = row.values.get("id"), row.values.get("stripe_price_id")
        if pid is None or "stripe_price_id" not in row.values:
            continue
        checked += 1
        loc = row.where.get("stripe_price_id")
        if pid not in live:
            yield warned(
                f"plan:{pid}", f"Plan {pid} is seeded by a migration but not live.", location=loc
            )
        elif (live[pid] if pd.notna(live[pid]) else None) != price:
            yield warned(
                f"plan:{pid}",
                f"Plan {pid}: the migrations leave {price}, the live table has {live[pid]}.",
                location=loc,
            )
    if checked:
        yield passed("plans", f"{checked} seeded plan(s) compared with the live plans table.")
    else:
        yield passed("plans", "The migrations seed no plans with price ids.")
