"""Area 1 — the catalogue as a whole: every expected game x RAM plan is sold, and the plan
count is the one the launch checklist claims.

The missing plans are one problem (the catalogue migration that should add them), each
plan a location; so are the plans sold outside the catalogue. A plan count off the claim
follows from them when they were found."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area01_prices import sold_plans
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

COVERAGE_MISSING = "catalog:coverage"  # STRIPE-CATALOG-COVERAGE's problem keys
COVERAGE_EXTRA = "catalog:unexpected"


@check(
    id="STRIPE-CATALOG-COVERAGE",
    area=1,
    severity=Severity.HIGH,
    title="Every expected game x RAM plan exists",
    sources=["database"],
    tables=["db_plans"],
    rationale="A tier shown on the site without a plan row cannot be bought.",
    remediation="Add the missing plans (with live prices) in a catalogue migration, or "
    "remove them from the expected catalogue if they are not sold.",
)
def catalog_coverage(inp: CheckInput) -> Iterator[Result]:
    plans = require_columns(sold_plans(inp["db_plans"]), "db_plans", ["game", "ram_gb"])
    catalog = inp.config.catalog
    have = {
        (str(g), int(r))
        for g, r in zip(plans["game"], plans["ram_gb"], strict=True)
        if not pd.isna(g) and not pd.isna(r)
    }
    expected = set(catalog.expected_plans) if catalog else set()
    # one problem each: the catalogue lacks plans / sells plans nobody expects; every
    # plan is a location (the plan count follows from them, STRIPE-PLAN-COUNT)
    for game, ram in sorted(expected - have):
        yield failed(
            f"catalog:{game}-{ram}gb",
            f"No active plan for {game} {ram} GB.",
            problem=COVERAGE_MISSING,
        )
    for game, ram in sorted(have - expected):
        yield warned(
            f"catalog:{game}-{ram}gb",
            f"Plan {game} {ram} GB is sold but not in the expected catalogue.",
            problem=COVERAGE_EXTRA,
        )
    if expected and not expected - have:
        yield passed("catalog", f"All {len(expected)} expected game x RAM plans exist.")


@check(
    id="STRIPE-PLAN-COUNT",
    area=1,
    severity=Severity.MEDIUM,
    title="Plan count matches the claimed catalogue",
    sources=["database"],
    tables=["db_plans"],
    rationale="The launch checklist claims a number of plans; the audit reports what is "
    "actually in the database.",
    remediation="Reconcile the plans table with the catalogue you intend to sell.",
)
def plan_count(inp: CheckInput) -> Iterator[Result]:
    plans = sold_plans(inp["db_plans"])
    claimed = inp.config.catalog.claimed_plan_count if inp.config.catalog else None
    evidence = {
        "actual": len(plans),
        "claimed": claimed,
        "per_game": plans.groupby("game").size().to_dict() if "game" in plans else {},
    }
    if claimed is None:
        yield informed("plans:count", f"{len(plans)} active game plans.", evidence=evidence)
    elif len(plans) == claimed:
        yield passed(
            "plans:count", f"{len(plans)} active game plans, as claimed.", evidence=evidence
        )
    else:
        # fewer plans than claimed: the missing ones are STRIPE-CATALOG-COVERAGE's problem
        # (more: the unexpected ones are), when the catalogue found them
        yield warned(
            "plans:count",
            f"{len(plans)} active game plans in the database; {claimed} were claimed.",
            evidence=evidence,
            cause=(
                "STRIPE-CATALOG-COVERAGE",
                COVERAGE_MISSING if len(plans) < claimed else COVERAGE_EXTRA,
            ),
        )
