"""Areas 1-3: occurrences of one problem fold into one finding, and a finding that follows
from another check's problem points at it (`link_causes`) — only when that problem was
found. Snapshots are hand-built as in test_checks_area0N; every test also holds the
negative case: without the cause the finding stands alone, unrelated things stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from readiness.checks.registry import all_checks, evaluate
from readiness.findings import Finding, Status, link_causes
from readiness.static.rules.catalog_seed import catalog_writes
from readiness.static.rules.tables import frame
from tests.conftest import make_snapshot
from tests.test_checks_area01 import plans, prices
from tests.test_checks_area02 import order, orders, server

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LIVE_A = "price_1SPaaaaaaaaaaaaaaaaaaaaa"
LIVE_B = "price_1SQKbbbbbbbbbbbbbbbbbbbb"
LIVE_C = "price_1SQKcccccccccccccccccccc"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def judged(config, tables: dict, areas=(1, 2, 3)) -> list[Finding]:
    """Every check of the areas on the tables, then consequences linked to their causes."""
    return link_causes(evaluate(make_snapshot(tables, None, NOW), config, areas))


def problem(findings: list[Finding], check_id: str, resource: str) -> Finding:
    """The one failing/warning finding of a check that holds the resource (itself or as
    one of its locations)."""
    hits = [
        f
        for f in findings
        if f.check_id == check_id
        and f.status in (Status.FAIL, Status.WARN)
        and resource in f.resources()
    ]
    assert len(hits) == 1, (check_id, resource, [(f.check_id, f.resource) for f in findings])
    return hits[0]


def problems(findings: list[Finding], check_id: str) -> list[Finding]:
    bad = (Status.FAIL, Status.WARN)
    return [f for f in findings if f.check_id == check_id and f.status in bad]


def linked(consequence: Finding, cause: Finding) -> bool:
    return consequence.cause is not None and consequence.cause["finding_uid"] == cause.uid


# --- area 1: plans and prices -----------------------------------------------------------


def plan(pid: str, game: str, ram: int, cents: int, price: str) -> dict:
    return {"id": pid, "game": game, "ram_gb": ram, "price_cents": cents, "stripe_price_id": price}


def catalog(config, claimed: int, **games: list[int]):
    """The demo params with another expected catalogue (games -> RAM sizes, no amounts)."""
    from readiness.config import GameSpec

    cat = config.catalog.model_copy(
        update={
            "claimed_plan_count": claimed,
            "games": {g: GameSpec(ram_gb=r) for g, r in games.items()},
        }
    )
    return config.model_copy(update={"catalog": cat})


MC = plans(
    plan("minecraft-1gb", "minecraft", 1, 299, LIVE_A),
    plan("minecraft-2gb", "minecraft", 2, 599, LIVE_B),
)


def test_missing_plans_are_one_coverage_problem_and_explain_the_plan_count(demo_config):
    config = catalog(demo_config, 5, minecraft=[1, 2, 4, 8], rust=[8])
    fs = judged(config, {"db_plans": MC}, areas=(1,))
    coverage = problem(fs, "STRIPE-CATALOG-COVERAGE", "catalog:coverage")
    assert coverage.status == Status.FAIL
    assert [loc.resource for loc in coverage.locations] == [
        "catalog:minecraft-4gb",
        "catalog:minecraft-8gb",
        "catalog:rust-8gb",
    ]
    assert len(problems(fs, "STRIPE-CATALOG-COVERAGE")) == 1
    count = problem(fs, "STRIPE-PLAN-COUNT", "plans:count")
    assert count.status == Status.WARN and linked(count, coverage)


def test_plans_outside_the_catalogue_are_apart_from_the_missing_ones(demo_config):
    sold = plans(*MC.to_dict("records"), plan("rust-8gb", "rust", 8, 999, LIVE_C))
    config = catalog(demo_config, 2, minecraft=[1, 2, 4])
    fs = judged(config, {"db_plans": sold}, areas=(1,))
    missing = problem(fs, "STRIPE-CATALOG-COVERAGE", "catalog:minecraft-4gb")
    extra = problem(fs, "STRIPE-CATALOG-COVERAGE", "catalog:rust-8gb")
    assert missing is not extra and missing.resource == "catalog:coverage"
    assert [loc.resource for loc in extra.locations] == ["catalog:rust-8gb"]
    # 3 sold, 2 claimed: the unexpected plan explains it
    assert linked(problem(fs, "STRIPE-PLAN-COUNT", "plans:count"), extra)


def test_a_plan_count_off_the_claim_stands_alone_when_the_catalogue_is_complete(demo_config):
    config = catalog(demo_config, 3, minecraft=[1, 2])
    fs = judged(config, {"db_plans": MC}, areas=(1,))
    assert problems(fs, "STRIPE-CATALOG-COVERAGE") == []
    count = problem(fs, "STRIPE-PLAN-COUNT", "plans:count")
    assert count.cause is None


RIMWORLD = plans(
    plan("rimworld-2gb", "rimworld", 2, 519, LIVE_A),
    plan("rimworld-4gb", "rimworld", 4, 1039, LIVE_A),
    plan("minecraft-2gb", "minecraft", 2, 599, LIVE_B),
)


def test_a_price_shared_by_two_plans_explains_the_amount_it_gets_wrong(demo_config):
    pr = prices(
        {"id": LIVE_A, "unit_amount": 519},
        {"id": LIVE_B, "unit_amount": 650},  # its own price, wrong amount
    )
    fs = judged(demo_config, {"db_plans": RIMWORLD, "stripe_prices": pr}, areas=(1,))
    shared = problem(fs, "STRIPE-PRICE-SHARED", f"price:{LIVE_A}")
    terms = problem(fs, "STRIPE-PRICE-TERMS", "plan:rimworld-4gb")
    assert linked(terms, shared)
    assert problem(fs, "STRIPE-PRICE-TERMS", "plan:minecraft-2gb").cause is None


def test_terms_stand_alone_when_no_price_is_shared(demo_config):
    own = RIMWORLD.assign(stripe_price_id=[LIVE_A, LIVE_C, LIVE_B])
    pr = prices(
        {"id": LIVE_A, "unit_amount": 519},
        {"id": LIVE_C, "unit_amount": 519},
        {"id": LIVE_B, "unit_amount": 599},
    )
    fs = judged(demo_config, {"db_plans": own, "stripe_prices": pr}, areas=(1,))
    assert problems(fs, "STRIPE-PRICE-SHARED") == []
    assert problem(fs, "STRIPE-PRICE-TERMS", "plan:rimworld-4gb").cause is None


def test_plans_of_one_archived_product_are_one_problem(demo_config):
    sold = plans(
        plan("mindustry-1gb", "mindustry", 1, 100, LIVE_A),
        plan("mindustry-2gb", "mindustry", 2, 200, LIVE_B),
        plan("rust-8gb", "rust", 8, 800, LIVE_C),
        plan("minecraft-1gb", "minecraft", 1, 299, "price_1SPdddddddddddddddddddd"),
    )
    pr = prices(
        {"id": LIVE_A, "unit_amount": 100, "product_id": "prod_m", "product_active": False},
        {"id": LIVE_B, "unit_amount": 200, "product_id": "prod_m", "product_active": False},
        {"id": LIVE_C, "unit_amount": 800, "product_id": "prod_r", "product_active": False},
        {"id": "price_1SPdddddddddddddddddddd", "unit_amount": 299},
    )
    fs = judged(demo_config, {"db_plans": sold, "stripe_prices": pr}, areas=(1,))
    archived = problems(fs, "STRIPE-PRODUCT-ACTIVE")
    assert {f.resource: sorted(loc.resource for loc in f.locations) for f in archived} == {
        "product:prod_m": ["plan:mindustry-1gb", "plan:mindustry-2gb"],
        "product:prod_r": ["plan:rust-8gb"],
    }
    # the price question still names every plan of the folded product
    from readiness.report import prices as price_answer

    ok, text = price_answer.confirmation(price_answer.price_counts(fs, None))
    assert ok is False and "3 archived" in text and "mindustry-2gb" in text
    assert "minecraft-1gb" not in text


def test_plans_on_one_archived_price_are_one_problem_unshared_ones_stay_per_plan(demo_config):
    sold = plans(*RIMWORLD.to_dict("records"), plan("rust-8gb", "rust", 8, 800, LIVE_C))
    pr = prices(
        {"id": LIVE_A, "unit_amount": 519, "active": False},
        {"id": LIVE_B, "unit_amount": 599},
        {"id": LIVE_C, "unit_amount": 800, "active": False},
    )
    fs = judged(demo_config, {"db_plans": sold, "stripe_prices": pr}, areas=(1,))
    archived = problems(fs, "STRIPE-PRICE-ACTIVE")
    assert {f.resource: sorted(loc.resource for loc in f.locations) for f in archived} == {
        f"price:{LIVE_A}": ["plan:rimworld-2gb", "plan:rimworld-4gb"],
        "plan:rust-8gb": ["plan:rust-8gb"],
    }


def seed_writes(*rows: tuple[str, str]) -> pd.DataFrame:
    values = ", ".join(f"('{pid}', '{price}')" for pid, price in rows)
    sql = f"insert into public.plans (id, stripe_price_id) values {values};\n"
    return frame("code_catalog_writes", catalog_writes([("supabase/migrations/1_p.sql", sql)]))


def test_seeded_rows_sharing_a_price_follow_the_live_shared_price(demo_config):
    writes = seed_writes(("rimworld-2gb", LIVE_A), ("rimworld-4gb", LIVE_A))
    fs = judged(demo_config, {"db_plans": RIMWORLD, "code_catalog_writes": writes}, areas=(1,))
    seeded = problem(fs, "STRIPE-SEED-CATALOG", f"seed-shared:public.plans:{LIVE_A}")
    assert linked(seeded, problem(fs, "STRIPE-PRICE-SHARED", f"price:{LIVE_A}"))
    # the live plans were since given their own prices: the seed's sharing stands alone
    own = RIMWORLD.assign(stripe_price_id=[LIVE_A, LIVE_C, LIVE_B])
    fs = judged(demo_config, {"db_plans": own, "code_catalog_writes": writes}, areas=(1,))
    assert problem(fs, "STRIPE-SEED-CATALOG", f"seed-shared:public.plans:{LIVE_A}").cause is None


# --- area 2: orders, subscriptions, servers ----------------------------------------------


def test_a_stuck_second_order_for_one_checkout_follows_the_duplicate(demo_config):
    stale = NOW - timedelta(hours=3)
    df = orders(
        order("a"),
        order("b", status="paid", stripe_checkout_session_id="cs_a", updated_at=stale),
        order("c", status="paid", updated_at=stale),  # stuck on its own
    )
    fs = judged(demo_config, {"db_orders": df}, areas=(2,))
    dupe = problem(fs, "FLOW-ORDER-DUPLICATE", "checkout_session:cs_a")
    assert linked(problem(fs, "FLOW-ORDER-STUCK", "order:b"), dupe)
    assert problem(fs, "FLOW-ORDER-STUCK", "order:c").cause is None


def subs(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "status": s, "livemode": True} for i, s in rows])


def sessions(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": i,
                "subscription": s,
                "status": "complete",
                "payment_status": "paid",
                "livemode": True,
                "created": NOW - timedelta(hours=5),
            }
            for i, s in rows
        ]
    )


def test_a_subscription_billing_an_order_in_error_follows_the_error(demo_config):
    df = orders(order("a"), order("d", status="error", error_message="panel 422"))
    stripe = subs(("sub_a", "active"), ("sub_d", "active"))
    fs = judged(demo_config, {"db_orders": df, "stripe_subscriptions": stripe}, areas=(2,))
    error = problem(fs, "FLOW-ORDER-ERROR", "order:d")
    assert linked(problem(fs, "FLOW-SUBSCRIPTION-ORPHAN", "subscription:sub_d"), error)


def test_a_subscription_without_order_follows_its_unrecorded_paid_checkout(demo_config):
    df = orders(order("a"))
    stripe = subs(("sub_a", "active"), ("sub_x", "active"), ("sub_y", "active"))
    tables = {
        "db_orders": df,
        "stripe_subscriptions": stripe,
        "stripe_checkout_sessions": sessions(("cs_a", "sub_a"), ("cs_x", "sub_x")),
    }
    fs = judged(demo_config, tables, areas=(2,))
    paid = problem(fs, "FLOW-PAID-NO-ORDER", "checkout_session:cs_x")
    assert linked(problem(fs, "FLOW-SUBSCRIPTION-ORPHAN", "subscription:sub_x"), paid)
    # no checkout explains sub_y
    assert problem(fs, "FLOW-SUBSCRIPTION-ORPHAN", "subscription:sub_y").cause is None


def test_an_order_in_error_follows_its_customer_without_panel_account(demo_config):
    df = orders(order("a"), order("d", user_id="u9", status="error"))
    stripe = subs(("sub_a", "active"), ("sub_d", "active"))
    accounts = pd.DataFrame([{"user_id": "u1", "pterodactyl_user_id": 7}])
    tables = {"db_orders": df, "stripe_subscriptions": stripe, "db_external_accounts": accounts}
    fs = judged(demo_config, tables)
    unmapped = problem(fs, "PANEL-ACCOUNT-MAPPED", "user:u9")
    assert linked(problem(fs, "FLOW-ORDER-ERROR", "order:d"), unmapped)
    # the chain ends at the root: the subscription is counted under the missing account
    assert linked(problem(fs, "FLOW-SUBSCRIPTION-ORPHAN", "subscription:sub_d"), unmapped)
    mapped = pd.DataFrame([{"user_id": u, "pterodactyl_user_id": 7} for u in ("u1", "u9")])
    fs = judged(demo_config, {**tables, "db_external_accounts": mapped})
    assert problem(fs, "FLOW-ORDER-ERROR", "order:d").cause is None


def test_paid_checkouts_without_order_follow_the_missing_webhook_endpoint(demo_config):
    from tests.test_checks_area01 import code_tables, endpoints

    tables = {
        **code_tables(),
        "db_orders": orders(order("a")),
        "stripe_checkout_sessions": sessions(("cs_a", "sub_a"), ("cs_x", "sub_x")),
        "stripe_webhook_endpoints": endpoints({"status": "disabled"}),
    }
    fs = judged(demo_config, tables, areas=(1, 2))
    endpoint = problem(fs, "STRIPE-WEBHOOK-ENDPOINT", "stripe:webhook_endpoint")
    assert linked(problem(fs, "FLOW-PAID-NO-ORDER", "checkout_session:cs_x"), endpoint)
    # the endpoint is there and sends checkouts: the lost order is its own problem
    fs = judged(demo_config, {**tables, "stripe_webhook_endpoints": endpoints({})}, areas=(1, 2))
    assert problem(fs, "FLOW-PAID-NO-ORDER", "checkout_session:cs_x").cause is None


def test_a_canceled_subscription_still_served_follows_the_endpoint_not_sending_it(demo_config):
    from tests.test_checks_area01 import code_tables, endpoints

    tables = {
        **code_tables(),
        "db_orders": orders(order("a"), order("b")),
        "stripe_subscriptions": subs(("sub_a", "canceled"), ("sub_b", "unpaid")),
        "stripe_webhook_endpoints": endpoints({"enabled_events": ["checkout.session.completed"]}),
    }
    fs = judged(demo_config, tables, areas=(1, 2))
    deaf = problem(fs, "STRIPE-WEBHOOK-EVENTS", "webhook_endpoint:we_1")
    assert linked(problem(fs, "FLOW-SUBSCRIPTION-LAPSED", "order:a"), deaf)
    # unpaid is an update, not the deletion the endpoint leaves out
    assert problem(fs, "FLOW-SUBSCRIPTION-LAPSED", "order:b").cause is None
    fs = judged(demo_config, {**tables, "stripe_webhook_endpoints": endpoints({})}, areas=(1, 2))
    assert problem(fs, "FLOW-SUBSCRIPTION-LAPSED", "order:a").cause is None


PLANS = pd.DataFrame(
    [
        {"id": "mc-2", "game": "minecraft", "ram_gb": 2, "egg_id": 39, "active": True},
        {"id": "rust-8", "game": "rust", "ram_gb": 8, "egg_id": 50, "active": True},
    ]
)


def server_tables(srv: list[dict], *rows: dict, **over) -> dict:
    tables = {
        "db_orders": orders(*rows),
        "db_plans": PLANS,
        "db_external_accounts": pd.DataFrame([{"user_id": "u1", "pterodactyl_user_id": 7}]),
        "db_ptero_nodes": pd.DataFrame(
            [{"id": 1, "region": "eu", "enabled": True, "panel_node_id": 11}]
        ),
        "panel_servers": pd.DataFrame(srv),
    }
    tables.update(over)
    return tables


def test_a_server_owner_not_compared_follows_the_unmapped_customer(demo_config):
    tables = server_tables(
        [server(1, "a"), server(2, "b")], order("a", user_id="u2"), order("b", user_id="u1")
    )
    fs = judged(demo_config, tables)
    owner = problem(fs, "FLOW-SERVER-OWNER", "order:a")
    assert owner.status == Status.WARN
    assert linked(owner, problem(fs, "PANEL-ACCOUNT-MAPPED", "user:u2"))
    # mapped customer, server of another panel user: its own problem
    wrong = server_tables([server(2, "b", user_id=8)], order("b"))
    fs = judged(demo_config, wrong)
    assert problem(fs, "FLOW-SERVER-OWNER", "order:b").cause is None


def egg_map(**eggs: int) -> pd.DataFrame:
    base = {"path": "p.ts", "line": 3, "function_slug": "servers-provision"}
    return frame("code_flow_egg_map", [{**base, "game": g, "egg_id": e} for g, e in eggs.items()])


def test_servers_running_the_egg_the_code_maps_follow_the_egg_map(demo_config):
    eggs = pd.DataFrame(
        [
            {"id": i, "name": n, "docker_images": ["x"], "docker_image": "x"}
            for i, n in ((39, "Paper"), (50, "Rust"), (51, "Rust Staging"))
        ]
    )
    rows = (order("a", plan_id="rust-8"), order("b", plan_id="rust-8"))
    srv = [server(1, "a", egg_id=51, memory=8192), server(2, "b", egg_id=39, memory=8192)]
    tables = server_tables(srv, *rows, code_flow_egg_map=egg_map(rust=51), panel_eggs=eggs)
    fs = judged(demo_config, tables)
    mapped = problem(fs, "PANEL-EGG-MAP", "game:rust")
    assert linked(problem(fs, "FLOW-SERVER-EGG", "order:a"), mapped)
    # server b runs an egg the code never sends: its own problem
    assert problem(fs, "FLOW-SERVER-EGG", "order:b").cause is None


# --- area 3: panel accounts and nodes ---------------------------------------------------


def account_tables(users: list[tuple[int, str, str | None]]) -> dict:
    return {
        "db_orders": pd.DataFrame([{"user_id": "u1", "status": "active"}]),
        "db_external_accounts": pd.DataFrame(
            [
                {"user_id": "u1", "pterodactyl_user_id": 7},
                {"user_id": "u2", "pterodactyl_user_id": 8},
            ]
        ),
        "panel_users": pd.DataFrame([{"id": i, "email": e, "external_id": x} for i, e, x in users]),
        "db_auth_users": pd.DataFrame(
            [{"id": "u1", "email": "a@x.test"}, {"id": "u2", "email": "b@x.test"}]
        ),
    }


def test_an_email_mismatch_on_a_shared_panel_account_follows_the_sharing(demo_config):
    # panel user 8 is u2's by the mapping and u1's by its external_id, with u1's email
    tables = account_tables([(7, "a@x.test", "u1"), (8, "a@x.test", "u1")])
    fs = judged(demo_config, tables, areas=(3,))
    shared = problem(fs, "PANEL-ACCOUNT-SHARED", "panel_user:8")
    assert linked(problem(fs, "PANEL-ACCOUNT-EMAIL", "user:u2"), shared)
    alone = account_tables([(7, "a@x.test", "u1"), (8, "old@x.test", "u2")])
    fs = judged(demo_config, alone, areas=(3,))
    assert problems(fs, "PANEL-ACCOUNT-SHARED") == []
    assert problem(fs, "PANEL-ACCOUNT-EMAIL", "user:u2").cause is None


def capacity_tables(srv: list[dict], allocated_mb: int, *rows: dict) -> dict:
    """One enabled node (1 = panel node 11, 64 GB) whose panel allocates `allocated_mb`."""
    tables = server_tables(srv, *rows)
    tables["db_ptero_nodes"] = pd.DataFrame(
        [
            {
                "id": 1,
                "name": "a",
                "region": "eu",
                "enabled": True,
                "max_ram_gb": 64,
                "reserved_headroom_gb": 0,
                "panel_node_id": 11,
            }
        ]
    )
    tables["panel_nodes"] = pd.DataFrame(
        [
            {
                "id": 11,
                "maintenance_mode": False,
                "memory": 65536,
                "memory_overallocate": 0,
                "allocated_memory": allocated_mb,
            }
        ]
    )
    tables["panel_allocations"] = pd.DataFrame(
        [{"node_id": 11, "id": i, "assigned": i == 0} for i in range(4)]
    )
    return tables


def test_the_panel_disagreeing_on_a_node_follows_the_server_problems_there(demo_config):
    # order a commits 2 GB; its server has 4 GB: the panel allocates 4 GB
    tables = capacity_tables([server(1, "a", memory=4096)], 4096, order("a"))
    fs = judged(demo_config, tables)
    memory = problem(fs, "FLOW-SERVER-MEMORY", "order:a")
    node = problem(fs, "PANEL-CAPACITY-NODE", "node:1")
    assert node.status == Status.WARN and linked(node, memory)
    # a server no order accounts for on the node
    tables = capacity_tables([server(1, "a"), server(9, "")], 4096, order("a"))
    fs = judged(demo_config, tables)
    orphan = problem(fs, "FLOW-SERVER-ORPHAN", "server:9")
    assert linked(problem(fs, "PANEL-CAPACITY-NODE", "node:1"), orphan)


def test_the_panel_disagreeing_without_a_server_problem_stands_alone(demo_config):
    tables = capacity_tables([server(1, "a")], 6144, order("a"))
    fs = judged(demo_config, tables)
    assert not [f for f in fs if f.check_id.startswith("FLOW-SERVER") and f.status == Status.FAIL]
    assert problem(fs, "PANEL-CAPACITY-NODE", "node:1").cause is None
