"""Unit tests of the Area 2 checks on small hand-built tables: pass, fail, not_verified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.static.rules.tables import frame
from tests.conftest import make_snapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def run(check_id: str, config, tables: dict, failed: dict | None = None) -> dict[str, str]:
    snap = make_snapshot(tables, failed, NOW)
    return {f.resource: str(f.status) for f in evaluate_check(REGISTRY[check_id], snap, config)}


def order(oid: str, **over) -> dict:
    row = {
        "id": oid,
        "user_id": "u1",
        "plan_id": "mc-2",
        "status": "active",
        "region": "eu",
        "term": "monthly",
        "server_name": "srv",
        "stripe_checkout_session_id": f"cs_{oid}",
        "stripe_subscription_id": f"sub_{oid}",
        "pterodactyl_server_id": None,
        "node_id": 1,
        "error_message": None,
        "created_at": NOW - timedelta(days=2),
        "updated_at": NOW - timedelta(days=2),
    }
    row.update(over)
    return row


def orders(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


PLANS = pd.DataFrame(
    [
        {"id": "mc-2", "game": "minecraft", "ram_gb": 2, "egg_id": 39, "active": True},
        {"id": "old", "game": "minecraft", "ram_gb": 3, "egg_id": 39, "active": False},
    ]
)
NODES = pd.DataFrame([{"id": 1, "region": "eu", "enabled": True, "panel_node_id": 11}])
USERS = pd.DataFrame([{"id": "u1", "email": "a@x.test"}])
ACCOUNTS = pd.DataFrame([{"user_id": "u1", "pterodactyl_user_id": 7}])


def sessions(*rows: dict) -> pd.DataFrame:
    base = {"status": "complete", "payment_status": "paid", "livemode": True}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_paid_no_order(demo_config):
    s = sessions(
        {"id": "cs_a", "subscription": "sub_a", "created": NOW - timedelta(hours=5)},
        {"id": "cs_x", "subscription": "sub_x", "created": NOW - timedelta(hours=5)},
        {"id": "cs_new", "subscription": None, "created": NOW - timedelta(minutes=2)},
        {"id": "cs_old", "subscription": None, "created": NOW - timedelta(days=90)},
    )
    got = run(
        "FLOW-PAID-NO-ORDER",
        demo_config,
        {"stripe_checkout_sessions": s, "db_orders": orders(order("a"))},
    )
    assert got == {"checkout_session:cs_x": "fail", "checkout_session:cs_new": "warn"}
    got = run(
        "FLOW-PAID-NO-ORDER",
        demo_config,
        {"stripe_checkout_sessions": s.iloc[:1], "db_orders": orders(order("a"))},
    )
    assert got == {"checkout_sessions": "pass"}
    got = run(
        "FLOW-PAID-NO-ORDER",
        demo_config,
        {"stripe_checkout_sessions": s, "db_orders": orders(order("a"))},
        failed={"stripe": "boom"},
    )
    assert list(got.values()) == ["not_verified"]


def test_order_stuck_and_error(demo_config):
    df = orders(
        order("a"),
        order("b", status="paid", updated_at=NOW - timedelta(hours=2)),
        order("c", status="provisioning", updated_at=NOW - timedelta(minutes=5)),
        order("d", status="error", error_message="panel 422"),
    )
    assert run("FLOW-ORDER-STUCK", demo_config, {"db_orders": df}) == {"order:b": "fail"}
    assert run("FLOW-ORDER-ERROR", demo_config, {"db_orders": df}) == {"order:d": "fail"}
    clean = orders(order("a"))
    assert run("FLOW-ORDER-STUCK", demo_config, {"db_orders": clean}) == {
        "orders:in_flight": "pass"
    }
    assert run("FLOW-ORDER-ERROR", demo_config, {"db_orders": clean}) == {"orders:error": "pass"}


def test_order_duplicate(demo_config):
    df = orders(
        order("a"), order("b", stripe_checkout_session_id="cs_a", stripe_subscription_id=None)
    )
    assert run("FLOW-ORDER-DUPLICATE", demo_config, {"db_orders": df}) == {
        "checkout_session:cs_a": "fail"
    }
    df = orders(order("a"), order("b", stripe_subscription_id="sub_a"))
    assert run("FLOW-ORDER-DUPLICATE", demo_config, {"db_orders": df}) == {
        "subscription:sub_a": "fail"
    }
    assert run("FLOW-ORDER-DUPLICATE", demo_config, {"db_orders": orders(order("a"))}) == {
        "orders:unique": "pass"
    }


def test_order_fields(demo_config):
    df = orders(
        order("a"),
        order("b", plan_id="old"),
        order("c", region="ap"),
        order("d", term="weekly"),
        order("e", server_name=None),
        order("f", user_id="ghost"),
        order("g", plan_id="nope"),
        order("h", region="ap", status="canceled"),
    )
    tables = {"db_orders": df, "db_plans": PLANS, "db_auth_users": USERS, "db_ptero_nodes": NODES}
    got = run("FLOW-ORDER-FIELDS", demo_config, tables)
    assert got == {
        "order:b": "fail",
        "order:c": "fail",
        "order:d": "fail",
        "order:e": "warn",
        "order:f": "fail",
        "order:g": "fail",
    }
    tables["db_orders"] = orders(order("a"))
    assert run("FLOW-ORDER-FIELDS", demo_config, tables) == {"orders:fields": "pass"}
    tables["db_orders"] = orders(order("a")).drop(columns=["term"])
    assert list(run("FLOW-ORDER-FIELDS", demo_config, tables).values()) == ["not_verified"]


def server(sid: int, ext: str, **over) -> dict:
    row = {
        "id": sid,
        "external_id": ext,
        "name": f"s{sid}",
        "user_id": 7,
        "node_id": 11,
        "egg_id": 39,
        "memory": 2048,
    }
    row.update(over)
    return row


def server_tables(srv: list[dict], *rows: dict) -> dict:
    return {
        "db_orders": orders(*rows),
        "db_plans": PLANS,
        "db_external_accounts": ACCOUNTS,
        "db_ptero_nodes": NODES,
        "panel_servers": pd.DataFrame(srv),
    }


@pytest.mark.parametrize(
    "check_id,over",
    [
        ("FLOW-SERVER-OWNER", {"user_id": 8}),
        ("FLOW-SERVER-NODE", {"node_id": 12}),
        ("FLOW-SERVER-EGG", {"egg_id": 50}),
        ("FLOW-SERVER-MEMORY", {"memory": 4096}),
    ],
)
def test_server_aspects(demo_config, check_id, over):
    good = server_tables([server(1, "a")], order("a"))
    assert run(check_id, demo_config, good) == {"orders:delivered": "pass"}
    bad = server_tables([server(1, "a", **over)], order("a"))
    assert run(check_id, demo_config, bad) == {"order:a": "fail"}


def test_server_missing_and_lookup_by_id(demo_config):
    tables = server_tables([server(5, "other")], order("a"), order("b", pterodactyl_server_id=5))
    assert run("FLOW-SERVER-MISSING", demo_config, tables) == {"order:a": "fail"}
    owner = run(
        "FLOW-SERVER-OWNER", demo_config, server_tables([server(1, "a")], order("a", user_id="u2"))
    )
    assert owner == {"order:a": "warn"}  # no mapping to compare with
    failed = run("FLOW-SERVER-MISSING", demo_config, tables, failed={"pterodactyl": "down"})
    assert list(failed.values()) == ["not_verified"]


def subs(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "status": s, "livemode": True} for i, s in rows])


def test_subscription_lapsed_and_orphan(demo_config):
    df = orders(order("a"), order("b"), order("c", status="canceled"), order("d"))
    stripe = subs(
        ("sub_a", "active"), ("sub_b", "canceled"), ("sub_c", "active"), ("sub_z", "trialing")
    )
    tables = {"db_orders": df, "stripe_subscriptions": stripe}
    assert run("FLOW-SUBSCRIPTION-LAPSED", demo_config, tables) == {
        "order:b": "fail",
        "order:d": "warn",
    }
    assert run("FLOW-SUBSCRIPTION-ORPHAN", demo_config, tables) == {
        "subscription:sub_c": "fail",
        "subscription:sub_z": "fail",
    }
    ok = {"db_orders": orders(order("a")), "stripe_subscriptions": subs(("sub_a", "active"))}
    assert run("FLOW-SUBSCRIPTION-LAPSED", demo_config, ok) == {"orders:subscriptions": "pass"}
    assert run("FLOW-SUBSCRIPTION-ORPHAN", demo_config, ok) == {"subscriptions": "pass"}


def test_server_orphan(demo_config):
    df = orders(order("a"), order("c", status="canceled"), order("d", pterodactyl_server_id=4))
    srv = pd.DataFrame([server(1, "a"), server(2, None), server(3, "c"), server(4, None)])
    got = run("FLOW-SERVER-ORPHAN", demo_config, {"db_orders": df, "panel_servers": srv})
    assert got == {"server:2": "fail", "server:3": "warn"}


def code_tables(actions: list[dict], writes: list[dict], exits: list[dict]) -> dict:
    functions = frame(
        "code_functions",
        [
            {"slug": "stripe-webhook", "path": "w.ts", "is_stripe_webhook": True},
            {"slug": "servers-provision", "path": "p.ts", "is_stripe_webhook": False},
        ],
    )
    return {
        "code_functions": functions,
        "code_flow_webhook_actions": frame("code_flow_webhook_actions", actions),
        "code_flow_status_writes": frame("code_flow_status_writes", writes),
        "code_flow_status_exits": frame("code_flow_status_exits", exits),
    }


PAID = "checkout.session.completed"
W = {"path": "w.ts", "function_slug": "stripe-webhook"}
CLAIM = {
    "path": "p.ts",
    "line": 5,
    "function_slug": "servers-provision",
    "table": "orders",
    "column": "status",
    "value": "provisioning",
}


def test_webhook_order_and_provision(demo_config):
    insert = {**W, "line": 3, "action": "order_insert", "event_type": PAID, "target": "orders"}
    trigger = {
        **W,
        "line": 9,
        "action": "provision_trigger",
        "event_type": PAID,
        "target": "servers-provision",
    }
    tables = code_tables([insert, trigger], [CLAIM], [])
    assert run("FLOW-WEBHOOK-ORDER", demo_config, tables) == {"function:stripe-webhook": "pass"}
    assert run("FLOW-WEBHOOK-PROVISION", demo_config, tables) == {"function:stripe-webhook": "pass"}
    tables = code_tables(
        [{**insert, "event_type": None}, {**trigger, "event_type": None}], [CLAIM], []
    )
    assert run("FLOW-WEBHOOK-ORDER", demo_config, tables) == {"function:stripe-webhook": "warn"}
    assert run("FLOW-WEBHOOK-PROVISION", demo_config, tables) == {"function:stripe-webhook": "fail"}
    tables = code_tables([], [CLAIM], [])
    assert run("FLOW-WEBHOOK-ORDER", demo_config, tables) == {"function:stripe-webhook": "fail"}
    assert run("FLOW-WEBHOOK-PROVISION", demo_config, tables) == {"function:stripe-webhook": "fail"}


def test_provision_final_status(demo_config):
    base = {"path": "p.ts", "function_slug": "servers-provision", "claim_line": 5}
    good = [{**base, "line": 9, "kind": "return", "final_status_set": True, "how": "dominated"}]
    bad = good + [{**base, "line": 12, "kind": "return", "final_status_set": False, "how": "none"}]
    got = run("FLOW-PROVISION-FINAL-STATUS", demo_config, code_tables([], [CLAIM], good))
    assert got == {"function:servers-provision": "pass"}
    snap = make_snapshot(code_tables([], [CLAIM], bad), None, NOW)
    (finding,) = evaluate_check(REGISTRY["FLOW-PROVISION-FINAL-STATUS"], snap, demo_config)
    assert str(finding.status) == "fail" and finding.location == "p.ts:12"
    got = run("FLOW-PROVISION-FINAL-STATUS", demo_config, code_tables([], [], []))
    assert list(got.values()) == ["not_verified"]


def test_present_mask_agrees_with_present_value_by_value():
    from readiness.checks.area02_orders import ids, present, present_mask

    values = [None, pd.NA, float("nan"), "", "   ", "x", " y ", 0, 12, 3.5]
    for series in (
        pd.Series(values, dtype=object),
        pd.Series(["a", None, "", " "], dtype="string"),
        pd.Series([1, None, 0], dtype="Int64"),
    ):
        assert present_mask(series).tolist() == [present(v) for v in series]
        assert ids(series) == {str(v) for v in series if present(v)}
