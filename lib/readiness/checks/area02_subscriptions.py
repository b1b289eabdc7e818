"""Area 2 — subscriptions against orders: Stripe stopped charging while the order still
runs, or keeps charging for an order that is gone, canceled or in error."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd

from readiness.checks.area02_orders import CLOSED, endpoints_without, present_mask
from readiness.checks.common import rows
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    require_columns,
    warned,
)
from readiness.findings import Severity

LAPSED = ("canceled", "unpaid", "incomplete_expired")
CHARGING = ("active", "trialing", "past_due")


def _subscriptions(inp: CheckInput) -> pd.DataFrame:
    subs = require_columns(
        inp["stripe_subscriptions"], "stripe_subscriptions", ["id", "status", "livemode"]
    )
    return subs[subs["livemode"].fillna(False).astype(bool)]


@check(
    id="FLOW-SUBSCRIPTION-LAPSED",
    area=2,
    severity=Severity.CRITICAL,
    title="No active order runs on a canceled or unpaid subscription (serving for free)",
    sources=["database", "stripe"],
    tables=["db_orders", "stripe_subscriptions"],
    optional_tables=["stripe_webhook_endpoints"],
    rationale="When Stripe stops charging but the order stays active, the server runs for "
    "free; usually a missed customer.subscription.* event.",
    remediation="Suspend or cancel the listed orders and make the webhook handle "
    "customer.subscription.updated/deleted.",
)
def subscription_lapsed(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(
        inp["db_orders"], "db_orders", ["id", "status", "stripe_subscription_id"]
    )
    live = _subscriptions(inp)
    subs = dict(zip(live["id"].astype(str), live["status"].astype(str), strict=True))
    active = orders[
        orders["status"].isin(inp.config.active_statuses)
        & present_mask(orders["stripe_subscription_id"])
    ]
    deaf = [
        ("STRIPE-WEBHOOK-EVENTS", f"webhook_endpoint:{ep}")
        for ep in endpoints_without(inp, "customer.subscription.deleted")
    ]
    bad = 0
    for o in rows(active):
        status = subs.get(str(o.stripe_subscription_id))
        if status in LAPSED:
            bad += 1
            yield failed(
                f"order:{o.id}",
                f"Order {o.id} is '{o.status}' but its subscription "
                f"{o.stripe_subscription_id} is {status} in Stripe.",
                # the webhook never hears of a cancellation the endpoint does not send:
                # STRIPE-WEBHOOK-EVENTS' problem for that endpoint
                cause=deaf if status == "canceled" else None,
            )
        elif status is None:
            bad += 1
            yield warned(
                f"order:{o.id}",
                f"Order {o.id} is '{o.status}' but its subscription "
                f"{o.stripe_subscription_id} is not in live Stripe.",
            )
    if not bad:
        yield passed(
            "orders:subscriptions",
            f"All {len(active)} active orders have a live subscription that is still billing.",
        )


@check(
    id="FLOW-SUBSCRIPTION-ORPHAN",
    area=2,
    severity=Severity.CRITICAL,
    title="No billing subscription without a live order (charging for nothing)",
    sources=["database", "stripe"],
    tables=["db_orders", "stripe_subscriptions"],
    optional_tables=["stripe_checkout_sessions"],
    rationale="A subscription Stripe keeps charging whose order is canceled or missing bills "
    "a customer for a server they do not have: refunds and chargebacks.",
    remediation="Cancel (and refund) the subscription, or restore the order it pays for.",
)
def subscription_orphan(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(
        inp["db_orders"], "db_orders", ["id", "status", "stripe_subscription_id"]
    )
    linked = orders[present_mask(orders["stripe_subscription_id"])]
    by_sub = {
        str(o.stripe_subscription_id): o
        for o in rows(linked[["id", "status", "stripe_subscription_id"]], index=False)
    }
    charging = _subscriptions(inp)
    charging = charging[charging["status"].isin(CHARGING)]
    checkout = _sessions_by_subscription(inp)
    bad = 0
    for s in rows(charging[["id", "status"]], index=False):
        order = by_sub.get(str(s.id))
        res = f"subscription:{s.id}"
        if order is None:
            bad += 1
            # the checkout that started it was paid and never recorded: FLOW-PAID-NO-ORDER's
            yield failed(
                res,
                f"Subscription {s.id} is {s.status} in Stripe and no order records it.",
                cause=[("FLOW-PAID-NO-ORDER", f"checkout_session:{c}") for c in checkout(s.id)],
            )
        elif order.status in CLOSED:
            bad += 1
            yield failed(
                res, f"Subscription {s.id} is {s.status} but order {order.id} is {order.status}."
            )
        elif order.status == "error":
            bad += 1
            yield warned(
                res,
                f"Subscription {s.id} bills for order {order.id}, which is in error (no server).",
                cause=("FLOW-ORDER-ERROR", f"order:{order.id}"),
            )
    if not bad:
        yield passed(
            "subscriptions", f"All {len(charging)} billing subscriptions pay for a live order."
        )


def _sessions_by_subscription(inp: CheckInput) -> Callable[[object], list[str]]:
    """The checkout sessions (ids) that created each subscription, when collected."""
    sessions = inp.tables.get("stripe_checkout_sessions")
    if sessions is None or not {"id", "subscription"} <= set(sessions.columns):
        return lambda _sub: []
    linked = sessions[present_mask(sessions["subscription"])]
    by_sub: dict[str, list[str]] = {}
    for sid, sub in zip(linked["id"].astype(str), linked["subscription"].astype(str), strict=True):
        by_sub.setdefault(sub, []).append(sid)
    return lambda sub: by_sub.get(str(sub), [])
