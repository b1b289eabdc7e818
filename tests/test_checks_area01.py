"""Unit tests of every Area 1 check on small hand-built tables: pass, fail, not_verified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from readiness.checks.area01_prices import placeholder_reason
from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Status
from tests.conftest import make_snapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LIVE_A = "price_1SPaaaaaaaaaaaaaaaaaaaaa"
LIVE_B = "price_1SQKbbbbbbbbbbbbbbbbbbbb"


def plans(*rows: dict) -> pd.DataFrame:
    base = {"item_type": "game", "term": "monthly", "currency": "usd", "active": True}
    return pd.DataFrame([{**base, **r} for r in rows])


def prices(*rows: dict) -> pd.DataFrame:
    base = {
        "livemode": True,
        "active": True,
        "currency": "usd",
        "type": "recurring",
        "recurring_interval": "month",
        "recurring_interval_count": 1,
        "product_id": "prod_1",
        "product_active": True,
        "product_name": "Minecraft",
    }
    return pd.DataFrame([{**base, **r} for r in rows])


TWO_PLANS = plans(
    {
        "id": "minecraft-1gb",
        "game": "minecraft",
        "ram_gb": 1,
        "price_cents": 299,
        "stripe_price_id": LIVE_A,
    },
    {
        "id": "minecraft-2gb",
        "game": "minecraft",
        "ram_gb": 2,
        "price_cents": 599,
        "stripe_price_id": LIVE_B,
    },
)
TWO_PRICES = prices({"id": LIVE_A, "unit_amount": 299}, {"id": LIVE_B, "unit_amount": 599})


def run(check_id: str, config, tables: dict, failed: dict | None = None):
    snap = make_snapshot(tables, failed, NOW)
    return evaluate_check(REGISTRY[check_id], snap, config)


def statuses(findings) -> dict[str, str]:
    return {f.resource: str(f.status) for f in findings}


def located(findings) -> dict[str, str]:
    """Status per occurrence (a folded problem's locations, else the finding itself)."""
    return {loc.resource: str(loc.status) for f in findings for loc in f.locations}


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


@pytest.mark.parametrize(
    "pid,bad",
    [
        ("price_terraria_1gb_monthly", True),
        ("price_minecraft", True),
        ("prod_1SPabc", True),
        (None, True),
        ("", True),
        ("price_1SPxYz", True),
        ("price_1SPaB3dE5fG7hJ9kL1mN2oP4q", False),
        ("price_1RZQw8E2rT5yU7iO9pA1sD3f", False),
    ],
)
def test_placeholder_reason(pid, bad):
    assert (placeholder_reason(pid, {"minecraft", "terraria"}) is not None) is bad


def test_placeholder_check_pass_and_fail(demo_config):
    df = plans(
        {
            "id": "terraria-1gb",
            "game": "terraria",
            "ram_gb": 1,
            "price_cents": 1,
            "stripe_price_id": "price_terraria_1gb_monthly",
        },
        {
            "id": "minecraft-1gb",
            "game": "minecraft",
            "ram_gb": 1,
            "price_cents": 1,
            "stripe_price_id": LIVE_A,
        },
    )
    got = statuses(run("STRIPE-PRICE-PLACEHOLDER", demo_config, {"db_plans": df}))
    assert got == {"plan:terraria-1gb": "fail", "plan:minecraft-1gb": "pass"}


def test_inactive_and_addon_plans_are_not_judged(demo_config):
    df = plans(
        {
            "id": "old",
            "game": "rust",
            "ram_gb": 1,
            "price_cents": 1,
            "stripe_price_id": "price_old_plan",
            "active": False,
        },
        {
            "id": "backup",
            "item_type": "addon",
            "game": None,
            "ram_gb": None,
            "price_cents": 1,
            "stripe_price_id": "price_addon_x",
        },
        {
            "id": "minecraft-1gb",
            "game": "minecraft",
            "ram_gb": 1,
            "price_cents": 1,
            "stripe_price_id": LIVE_A,
        },
    )
    got = statuses(run("STRIPE-PRICE-PLACEHOLDER", demo_config, {"db_plans": df}))
    assert got == {"plan:minecraft-1gb": "pass"}


def test_price_live_distinguishes_test_mode_and_missing(demo_config):
    df = plans(
        {
            "id": "a",
            "game": "minecraft",
            "ram_gb": 1,
            "price_cents": 299,
            "stripe_price_id": LIVE_A,
        },
        {
            "id": "b",
            "game": "minecraft",
            "ram_gb": 2,
            "price_cents": 599,
            "stripe_price_id": LIVE_B,
        },
        {
            "id": "c",
            "game": "minecraft",
            "ram_gb": 4,
            "price_cents": 1,
            "stripe_price_id": "price_1SPcccccccccccccccccccc",
        },
    )
    test_prices = prices({"id": LIVE_B, "unit_amount": 599, "livemode": False})
    fs = run(
        "STRIPE-PRICE-LIVE",
        demo_config,
        {
            "db_plans": df,
            "stripe_prices": prices({"id": LIVE_A, "unit_amount": 299}),
            "stripe_test_prices": test_prices,
        },
    )
    got = {f.resource: f for f in fs}
    assert got["plan:a"].status == Status.PASS
    assert got["plan:b"].status == Status.FAIL and "test mode" in got["plan:b"].reason
    assert got["plan:c"].status == Status.FAIL and "not found" in got["plan:c"].reason


def test_price_live_not_verified_when_stripe_failed(demo_config):
    fs = run(
        "STRIPE-PRICE-LIVE",
        demo_config,
        {"db_plans": TWO_PLANS},
        failed={"stripe": "stripe: could not connect"},
    )
    assert [f.status for f in fs] == [Status.NOT_VERIFIED]
    assert "could not connect" in fs[0].reason


def test_price_active_and_product_active(demo_config):
    pr = prices(
        {"id": LIVE_A, "unit_amount": 299, "active": False},
        {"id": LIVE_B, "unit_amount": 599, "product_active": False},
    )
    tables = {"db_plans": TWO_PLANS, "stripe_prices": pr}
    assert statuses(run("STRIPE-PRICE-ACTIVE", demo_config, tables)) == {
        "plan:minecraft-1gb": "fail",
        "plan:minecraft-2gb": "pass",
    }
    assert located(run("STRIPE-PRODUCT-ACTIVE", demo_config, tables)) == {
        "plan:minecraft-1gb": "pass",
        "plan:minecraft-2gb": "fail",
    }


def test_price_terms_interval_amount_currency(demo_config):
    pr = prices(
        {"id": LIVE_A, "unit_amount": 299, "recurring_interval": "year"},
        {"id": LIVE_B, "unit_amount": 599},
    )
    fs = run("STRIPE-PRICE-TERMS", demo_config, {"db_plans": TWO_PLANS, "stripe_prices": pr})
    assert statuses(fs) == {"plan:minecraft-1gb": "fail", "plan:minecraft-2gb": "pass"}
    pr = prices(
        {"id": LIVE_A, "unit_amount": 300}, {"id": LIVE_B, "unit_amount": 599, "currency": "eur"}
    )
    fs = run("STRIPE-PRICE-TERMS", demo_config, {"db_plans": TWO_PLANS, "stripe_prices": pr})
    reasons = {f.resource: f.reason for f in fs}
    assert "300 cents" in reasons["plan:minecraft-1gb"]
    assert "currency eur" in reasons["plan:minecraft-2gb"]


def test_shared_price(demo_config):
    df = TWO_PLANS.assign(stripe_price_id=LIVE_A)
    fs = run("STRIPE-PRICE-SHARED", demo_config, {"db_plans": df})
    assert statuses(fs) == {f"price:{LIVE_A}": "fail"}
    assert statuses(run("STRIPE-PRICE-SHARED", demo_config, {"db_plans": TWO_PLANS})) == {
        "plans": "pass"
    }


def test_catalog_coverage_and_count(demo_config):
    fs = run("STRIPE-CATALOG-COVERAGE", demo_config, {"db_plans": TWO_PLANS})
    got = located(fs)
    assert got["catalog:rust-12gb"] == "fail"
    assert "catalog:minecraft-1gb" not in got
    assert len([s for s in got.values() if s == "fail"]) == 35
    count = run("STRIPE-PLAN-COUNT", demo_config, {"db_plans": TWO_PLANS})
    assert count[0].status == Status.WARN and "37 were claimed" in count[0].reason


def test_missing_column_is_not_verified(demo_config):
    fs = run(
        "STRIPE-PRICE-PLACEHOLDER",
        demo_config,
        {"db_plans": TWO_PLANS.drop(columns=["stripe_price_id"])},
    )
    assert [f.status for f in fs] == [Status.NOT_VERIFIED]
    assert "stripe_price_id" in fs[0].reason


def test_missing_table_is_not_verified(demo_config):
    fs = run("STRIPE-PRICE-LIVE", demo_config, {"db_plans": TWO_PLANS})
    assert fs[0].status == Status.NOT_VERIFIED and "stripe_prices" in fs[0].reason


def test_account_and_key(demo_config):
    acct = pd.DataFrame(
        [
            {
                "id": "acct_1",
                "charges_enabled": True,
                "payouts_enabled": False,
                "details_submitted": True,
            }
        ]
    )
    fs = run("STRIPE-ACCOUNT-LIVE", demo_config, {"stripe_account": acct})
    assert fs[0].status == Status.FAIL and "payouts_enabled" in fs[0].reason
    ok = acct.assign(payouts_enabled=True)
    assert run("STRIPE-ACCOUNT-LIVE", demo_config, {"stripe_account": ok})[0].status == "pass"
    for mode, kind, live, restricted in [
        ("live", "restricted", "pass", "pass"),
        ("live", "secret", "pass", "warn"),
        ("test", "secret", "fail", "warn"),
    ]:
        key = pd.DataFrame([{"mode": mode, "kind": kind}])
        assert run("STRIPE-KEY-LIVE", demo_config, {"stripe_key": key})[0].status == live
        got = run("STRIPE-KEY-RESTRICTED", demo_config, {"stripe_key": key})[0].status
        assert got == restricted


URL = "https://demo-hosting.supabase.co/functions/v1/stripe-webhook"


def code_tables(events=("checkout.session.completed", "customer.subscription.deleted")):
    return {
        "code_functions": pd.DataFrame(
            [
                {
                    "slug": "stripe-webhook",
                    "path": "supabase/functions/stripe-webhook/index.ts",
                    "is_stripe_webhook": True,
                },
                {
                    "slug": "create-checkout-session",
                    "path": "supabase/functions/create-checkout-session/index.ts",
                    "is_stripe_webhook": False,
                },
            ]
        ),
        "code_webhook_events": pd.DataFrame(
            [
                {
                    "path": "supabase/functions/stripe-webhook/index.ts",
                    "line": 10 + i,
                    "function_slug": "stripe-webhook",
                    "event_type": e,
                }
                for i, e in enumerate(events)
            ],
            columns=["path", "line", "function_slug", "event_type"],
        ),
    }


def endpoints(*rows):
    base = {
        "id": "we_1",
        "url": URL,
        "status": "enabled",
        "livemode": True,
        "enabled_events": ["checkout.session.completed", "customer.subscription.deleted"],
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_webhook_endpoint_and_events(demo_config):
    tables = {**code_tables(), "stripe_webhook_endpoints": endpoints({})}
    assert statuses(run("STRIPE-WEBHOOK-ENDPOINT", demo_config, tables)) == {
        "webhook_endpoint:we_1": "pass"
    }
    assert statuses(run("STRIPE-WEBHOOK-EVENTS", demo_config, tables)) == {
        "webhook_endpoint:we_1": "pass"
    }
    partial = endpoints({"enabled_events": ["checkout.session.completed"]})
    fs = run(
        "STRIPE-WEBHOOK-EVENTS", demo_config, {**code_tables(), "stripe_webhook_endpoints": partial}
    )
    assert fs[0].status == Status.FAIL and "customer.subscription.deleted" in fs[0].reason
    assert fs[0].location == "supabase/functions/stripe-webhook/index.ts:11"
    star = endpoints({"enabled_events": ["*"]})
    fs = run(
        "STRIPE-WEBHOOK-EVENTS", demo_config, {**code_tables(), "stripe_webhook_endpoints": star}
    )
    assert fs[0].status == Status.PASS


def test_webhook_endpoint_wrong_host_or_disabled(demo_config):
    other = endpoints({"url": "https://evil.example/functions/v1/stripe-webhook"})
    fs = run(
        "STRIPE-WEBHOOK-ENDPOINT", demo_config, {**code_tables(), "stripe_webhook_endpoints": other}
    )
    assert fs[0].status == Status.FAIL
    disabled = endpoints({"status": "disabled"})
    fs = run(
        "STRIPE-WEBHOOK-ENDPOINT",
        demo_config,
        {**code_tables(), "stripe_webhook_endpoints": disabled},
    )
    assert fs[0].status == Status.FAIL and "disabled" in fs[0].reason
    fs = run(
        "STRIPE-WEBHOOK-EVENTS",
        demo_config,
        {**code_tables(), "stripe_webhook_endpoints": disabled},
    )
    assert fs[0].status == Status.NOT_VERIFIED


def test_webhook_events_needs_codebase(demo_config):
    fs = run(
        "STRIPE-WEBHOOK-EVENTS",
        demo_config,
        {"stripe_webhook_endpoints": endpoints({})},
        failed={"codebase": "codebase: path does not exist"},
    )
    assert fs[0].status == Status.NOT_VERIFIED and "codebase" in fs[0].reason


def test_undelivered_events(demo_config):
    ev = pd.DataFrame(
        [
            {
                "id": "evt_old",
                "type": "invoice.paid",
                "created": NOW - timedelta(hours=3),
                "pending_webhooks": 1,
            },
            {
                "id": "evt_new",
                "type": "invoice.paid",
                "created": NOW - timedelta(minutes=5),
                "pending_webhooks": 1,
            },
            {
                "id": "evt_ok",
                "type": "invoice.paid",
                "created": NOW - timedelta(days=3),
                "pending_webhooks": 0,
            },
        ]
    )
    fs = run("STRIPE-EVENTS-UNDELIVERED", demo_config, {"stripe_events": ev})
    assert fs[0].status == Status.FAIL and "1 events" in fs[0].reason
    assert fs[0].evidence["events"][0]["id"] == "evt_old"
    fs = run("STRIPE-EVENTS-UNDELIVERED", demo_config, {"stripe_events": ev.iloc[1:]})
    assert fs[0].status == Status.PASS


def sig(**over):
    row = {
        "path": "supabase/functions/stripe-webhook/index.ts",
        "line": 20,
        "function_slug": "stripe-webhook",
        "call": "constructEventAsync",
        "secret_env": "STRIPE_WEBHOOK_SECRET",
        "secret_expr": "webhookSecret",
        "before_side_effects": True,
    }
    return pd.DataFrame([{**row, **over}])


def test_webhook_signature(demo_config):
    base = code_tables()
    assert (
        run("STRIPE-WEBHOOK-SIGNATURE", demo_config, {**base, "code_signature_checks": sig()})[
            0
        ].status
        == Status.PASS
    )
    late = run(
        "STRIPE-WEBHOOK-SIGNATURE",
        demo_config,
        {**base, "code_signature_checks": sig(before_side_effects=False)},
    )[0]
    assert late.status == Status.FAIL and late.location.endswith("index.ts:20")
    literal = run(
        "STRIPE-WEBHOOK-SIGNATURE",
        demo_config,
        {**base, "code_signature_checks": sig(secret_env=None)},
    )[0]
    assert literal.status == Status.FAIL
    none = run(
        "STRIPE-WEBHOOK-SIGNATURE", demo_config, {**base, "code_signature_checks": sig().iloc[0:0]}
    )[0]
    assert none.status == Status.FAIL and none.location.endswith("index.ts:1")


def test_webhook_handles_checkout_and_failures(demo_config):
    assert (
        run("STRIPE-WEBHOOK-HANDLES-CHECKOUT", demo_config, code_tables())[0].status == Status.PASS
    )
    assert (
        run("STRIPE-WEBHOOK-HANDLES-CHECKOUT", demo_config, code_tables(events=("invoice.paid",)))[
            0
        ].status
        == Status.FAIL
    )
    assert run("STRIPE-WEBHOOK-FAILED-PAYMENT", demo_config, code_tables())[0].status == Status.WARN


def test_checkout_price_source(demo_config):
    rows = pd.DataFrame(
        [
            {
                "path": "a.ts",
                "line": 5,
                "function_slug": "create-checkout-session",
                "price_expr": "plan.stripe_price_id",
                "source": "database",
            },
            {
                "path": "b.ts",
                "line": 7,
                "function_slug": "buy",
                "price_expr": "body.priceId",
                "source": "request",
            },
        ]
    )
    got = statuses(run("STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, {"code_checkout_prices": rows}))
    assert got == {"function:create-checkout-session:5": "pass", "function:buy:7": "fail"}
    empty = run(
        "STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, {"code_checkout_prices": rows.iloc[0:0]}
    )
    assert empty[0].status == Status.NOT_VERIFIED


def test_checkout_metadata(demo_config):
    writes = pd.DataFrame(
        [
            {
                "path": "c.ts",
                "line": 3,
                "function_slug": "create-checkout-session",
                "container": "session",
                "key": k,
            }
            for k in ("user_id", "plan_id")
        ]
    )
    reads = pd.DataFrame(
        [
            {"path": "w.ts", "line": 9 + i, "function_slug": "stripe-webhook", "key": k}
            for i, k in enumerate(("user_id", "plan_id", "term"))
        ]
    )
    tables = {**code_tables(), "code_metadata_writes": writes, "code_metadata_reads": reads}
    got = {f.resource: f for f in run("STRIPE-CHECKOUT-METADATA", demo_config, tables)}
    assert got["metadata:term"].status == Status.FAIL
    assert got["metadata:term"].location == "w.ts:11"
    assert got["metadata:user_id"].status == Status.PASS
    spread = pd.concat([writes, writes.head(1).assign(key="*spread*")])
    got = {
        f.resource: f
        for f in run(
            "STRIPE-CHECKOUT-METADATA", demo_config, {**tables, "code_metadata_writes": spread}
        )
    }
    assert got["metadata:term"].status == Status.NOT_VERIFIED
    dynamic = pd.concat([writes, writes.head(1).assign(key="*dynamic*")])
    got = {
        f.resource: f
        for f in run(
            "STRIPE-CHECKOUT-METADATA", demo_config, {**tables, "code_metadata_writes": dynamic}
        )
    }
    assert got["metadata:term"].status == Status.NOT_VERIFIED


def test_crashing_check_is_not_verified(demo_config, monkeypatch):
    from dataclasses import replace

    def boom(_inp):
        raise RuntimeError("kaput")
        yield

    spec = replace(REGISTRY["STRIPE-PRICE-SHARED"], func=boom)
    fs = evaluate_check(spec, make_snapshot({"db_plans": TWO_PLANS}), demo_config)
    assert fs[0].status == Status.NOT_VERIFIED and "kaput" in fs[0].reason

    def silent(_inp):
        return []

    spec = replace(REGISTRY["STRIPE-PRICE-SHARED"], func=silent)
    fs = evaluate_check(spec, make_snapshot({"db_plans": TWO_PLANS}), demo_config)
    assert fs[0].status == Status.NOT_VERIFIED and "no result" in fs[0].reason


def test_every_check_has_metadata():
    specs = all_checks([1])
    assert len(specs) >= 17
    for s in specs:
        assert s.title and s.rationale and s.remediation and s.sources, s.id
