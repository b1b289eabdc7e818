"""Deliverable 7 in one sentence: plans sold, correct live prices, placeholders (live
rows and migrations), archived and mismatched prices — counted from the findings."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Finding, Status
from readiness.report.prices import confirmation, price_counts
from readiness.report.waivers import Waiver, apply_waivers
from tests.conftest import make_snapshot
from tests.test_checks_area01 import NOW, plans, prices

PRICE_CHECKS = [
    "STRIPE-PRICE-PLACEHOLDER",
    "STRIPE-PRICE-LIVE",
    "STRIPE-PRICE-ACTIVE",
    "STRIPE-PRODUCT-ACTIVE",
    "STRIPE-PRICE-TERMS",
    "STRIPE-PRICE-SHARED",
    "STRIPE-PLAN-COUNT",
]
IDS = {k: f"price_1SP{k * 22}" for k in "abde"}


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def _tables() -> dict[str, pd.DataFrame]:
    """Five plans: a correct, b charges the wrong amount, c a placeholder, d an archived
    product, e a price that exists only in test mode."""
    rows = [
        {"id": p, "game": "minecraft", "ram_gb": n, "price_cents": 100 * n, "stripe_price_id": i}
        for n, (p, i) in enumerate(
            [
                ("a", IDS["a"]),
                ("b", IDS["b"]),
                ("c", "price_c_monthly"),
                ("d", IDS["d"]),
                ("e", IDS["e"]),
            ],
            start=1,
        )
    ]
    live = prices(
        {"id": IDS["a"], "unit_amount": 100},
        {"id": IDS["b"], "unit_amount": 999},
        {"id": IDS["d"], "unit_amount": 400, "product_active": False},
    )
    test = prices({"id": IDS["e"], "unit_amount": 500, "livemode": False})
    return {"db_plans": plans(*rows), "stripe_prices": live, "stripe_test_prices": test}


def _judge(config, tables, failed=None) -> list[Finding]:
    snap = make_snapshot(tables, failed, NOW)
    return [f for c in PRICE_CHECKS for f in evaluate_check(REGISTRY[c], snap, config)]


def test_counts_sentence_from_the_real_checks(demo_config) -> None:
    seed = Finding(
        "STRIPE-SEED-PLACEHOLDER",
        Status.FAIL,
        "high",
        "seed:public.plans",
        "r",
        1,
        evidence={"placeholders": [{"row": "id=c"}]},
    )
    counts = price_counts([*_judge(demo_config, _tables()), seed], claimed=37)
    assert (counts.sold, counts.correct, counts.placeholders, counts.seed_placeholders) == (
        5,
        1,
        1,
        1,
    )
    # every plan sold is counted once: correct, or under its first problem
    assert counts.correct + sum(map(len, counts.problems.values())) == counts.sold
    ok, sentence = confirmation(counts)
    assert ok is False
    assert sentence == (
        "No: of 5 plans sold (37 claimed), 1 has a correct live price; "
        "1 placeholder in the live data (c) and 1 in the migrations (public.plans); "
        "1 not live (e: test mode only); 1 archived (d: product); 1 mismatched (b: amount)."
    )


def test_all_correct_is_yes_with_the_counts(demo_config) -> None:
    tables = _tables()
    tables["db_plans"] = tables["db_plans"].iloc[:1]
    seed = Finding("STRIPE-SEED-PLACEHOLDER", Status.PASS, "high", "seed", "r", 1)
    ok, sentence = confirmation(price_counts([*_judge(demo_config, tables), seed], claimed=1))
    assert ok is True
    assert sentence == (
        "Yes: of 1 plan sold, all have a correct live price (active, live mode, matching "
        "amount and term); no placeholder in the live data or the migrations."
    )


def test_stripe_unreadable_cannot_confirm_but_a_placeholder_still_says_no(demo_config) -> None:
    failed = {"stripe": "disabled in params"}
    tables = _tables()
    ok, sentence = confirmation(price_counts(_judge(demo_config, tables, failed)))
    assert ok is False  # a placeholder is never live, whatever Stripe says
    assert "whether their prices are live cannot be checked (source 'stripe'" in sentence
    assert "1 placeholder in the live data (c); the migrations could not be read" in sentence
    tables["db_plans"] = tables["db_plans"][tables["db_plans"]["id"] != "c"]
    ok, sentence = confirmation(price_counts(_judge(demo_config, tables, failed)))
    assert ok is None and sentence.startswith("Cannot confirm: of 4 plans sold, whether")


def test_plans_unreadable_cannot_confirm(demo_config) -> None:
    ok, sentence = confirmation(price_counts(_judge(demo_config, {}, {"database": "refused"})))
    assert ok is None
    assert sentence.startswith("Cannot confirm: the plans could not be read (source 'database'")


def test_a_waived_mismatch_is_still_counted(demo_config) -> None:
    found = _judge(demo_config, _tables())
    waived, _ = apply_waivers(
        found, [Waiver(check="STRIPE-PRICE-TERMS", reason="grandfathered")], date(2026, 11, 26)
    )
    assert any(f.status == Status.WAIVED for f in waived)
    assert price_counts(waived).problems["mismatched"] == {"b": "amount"}


def test_shared_prices_and_plans_not_sold_are_said(demo_config) -> None:
    tables = _tables()
    tables["db_plans"] = tables["db_plans"].iloc[:1]
    twin = tables["db_plans"].assign(id="a2", ram_gb=9)
    tables["db_plans"] = pd.concat([tables["db_plans"], twin])
    found = _judge(demo_config, tables)
    found.append(
        Finding("STRIPE-CATALOG-COVERAGE", Status.FAIL, "high", "catalog:rust-12gb", "r", 1)
    )
    ok, sentence = confirmation(price_counts(found, claimed=37))
    assert ok is False
    assert "of 2 plans sold (37 claimed; not sold: rust-12gb)" in sentence
    assert "1 price shared by 2 plans (a, a2)" in sentence
