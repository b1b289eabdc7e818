"""Area 2 — orders against Stripe's paid checkouts: money taken with nothing recorded,
orders that stopped moving, failed, were recorded twice, or hold values nothing can serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd

from readiness.checks.common import rows
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    records,
    require_columns,
    warned,
)
from readiness.findings import Severity

IN_FLIGHT = ("paid", "provisioning", "installing")
CLOSED = ("canceled", "refunded")
ORDER_COLS = ["id", "user_id", "plan_id", "status", "created_at"]


def present(value: object) -> bool:
    """True for a real value (not None / NA / empty string)."""
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return str(value).strip() != ""


def present_mask(series: pd.Series) -> pd.Series:
    """`present` for a whole column at once (200,000 orders: no call per value)."""
    text = series.astype("string")
    return (text.notna() & (text.str.strip() != "")).fillna(False).astype(bool)


def ids(series: pd.Series) -> set[str]:
    return set(series[present_mask(series)].astype(str))


def age_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


# what one payment must be recorded by once: column, and the resource kind it is reported as
DUPLICATE_KEYS = (
    ("stripe_checkout_session_id", "checkout_session"),
    ("stripe_subscription_id", "subscription"),
)


def recorded_twice(orders: pd.DataFrame) -> set[tuple[str, str]]:
    """(kind, key) of every checkout session / subscription more than one order records
    (FLOW-ORDER-DUPLICATE's problems)."""
    out: set[tuple[str, str]] = set()
    for column, kind in DUPLICATE_KEYS:
        if column in orders:
            keyed = orders.loc[present_mask(orders[column]), column].astype(str)
            out |= {(kind, k) for k in keyed[keyed.duplicated(keep=False)]}
    return out


def endpoints_without(inp: CheckInput, event: str) -> list[str]:
    """Ids of the enabled live webhook endpoints that do not send `event` (when
    collected): what happens in Stripe of that kind never reaches the platform."""
    eps = inp.tables.get("stripe_webhook_endpoints")
    if eps is None or not {"id", "status", "enabled_events"} <= set(eps.columns):
        return []
    live = eps["livemode"].fillna(False).astype(bool) if "livemode" in eps else True
    eps = eps[(eps["status"] == "enabled") & live]
    return [
        str(ep.id)
        for ep in eps.itertuples()
        if not {event, "*"} & set(ep.enabled_events if ep.enabled_events is not None else [])
    ]


def paid_sessions(inp: CheckInput) -> pd.DataFrame:
    """Live, completed, paid checkout sessions inside the look-back window."""
    sessions = require_columns(
        inp["stripe_checkout_sessions"],
        "stripe_checkout_sessions",
        ["id", "status", "payment_status", "subscription", "created", "livemode"],
    )
    since = inp.now - timedelta(days=inp.config.thresholds.checkout_lookback_days)
    mask = (
        (sessions["status"] == "complete")
        & sessions["payment_status"].isin(["paid", "no_payment_required"])
        & sessions["livemode"].fillna(False).astype(bool)
        & (sessions["created"] >= since)
    )
    return sessions[mask.fillna(False).astype(bool)]


@check(
    id="FLOW-PAID-NO-ORDER",
    area=2,
    severity=Severity.CRITICAL,
    title="Every paid checkout has an order (money taken, nothing delivered)",
    sources=["stripe", "database"],
    tables=["stripe_checkout_sessions", "db_orders"],
    optional_tables=["stripe_webhook_endpoints"],
    rationale="A completed, paid Checkout Session without an order means the customer was "
    "charged and nothing will ever be provisioned for them.",
    remediation="Create the order from the session (or refund it), then find why the webhook "
    "did not record it: endpoint, signature secret, metadata, or a failing insert.",
)
def paid_no_order(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(
        inp["db_orders"], "db_orders", ["stripe_checkout_session_id", "stripe_subscription_id"]
    )
    sessions = paid_sessions(inp)
    known_sessions = ids(orders["stripe_checkout_session_id"])
    known_subs = ids(orders["stripe_subscription_id"])
    grace = timedelta(minutes=inp.config.thresholds.order_sla_minutes)
    # no endpoint delivers checkouts to the webhook (STRIPE-WEBHOOK-ENDPOINT's problem,
    # its resource when none is enabled) or the endpoint does not send the event
    deaf = [("STRIPE-WEBHOOK-ENDPOINT", "stripe:webhook_endpoint")]
    if "stripe_webhook_endpoints" in inp.tables:
        deaf += [
            ("STRIPE-WEBHOOK-EVENTS", f"webhook_endpoint:{ep}")
            for ep in endpoints_without(inp, "checkout.session.completed")
        ]
    missing = 0
    for s in rows(sessions):
        if s.id in known_sessions or (present(s.subscription) and s.subscription in known_subs):
            continue
        missing += 1
        res = f"checkout_session:{s.id}"
        evidence = {"created": s.created.isoformat(), "subscription": s.subscription}
        if inp.now - s.created < grace:
            yield warned(
                res,
                f"Paid session {s.id} has no order yet ({age_text(inp.now - s.created)} "
                "old; the webhook may still be running).",
                evidence=evidence,
            )
        else:
            yield failed(
                res,
                f"Session {s.id} was paid {age_text(inp.now - s.created)} ago and "
                "no order records it.",
                evidence=evidence,
                cause=deaf,
            )
    if not missing:
        days = inp.config.thresholds.checkout_lookback_days
        yield passed(
            "checkout_sessions",
            f"All {len(sessions)} paid checkout sessions of the last {days} days have an order.",
        )


@check(
    id="FLOW-ORDER-STUCK",
    area=2,
    severity=Severity.HIGH,
    title="No order is stuck in paid / provisioning / installing past the SLA",
    sources=["database"],
    tables=["db_orders"],
    rationale="An order that stops moving is a customer who paid and is waiting for a server "
    "that nothing is building.",
    remediation="Re-run provisioning for the order (or refund it) and fix the step that "
    "dropped it: trigger, capacity, panel errors.",
)
def order_stuck(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(inp["db_orders"], "db_orders", ORDER_COLS)
    sla = timedelta(minutes=inp.config.thresholds.order_sla_minutes)
    moving = orders[orders["status"].isin(IN_FLIGHT)]
    twice = recorded_twice(orders)
    stuck = 0
    for o in moving.itertuples():
        since = o.updated_at if "updated_at" in orders and present(o.updated_at) else o.created_at
        if inp.now - since <= sla:
            continue
        stuck += 1
        # a second order for one payment is left behind by design: FLOW-ORDER-DUPLICATE's
        keys = [(kind, str(getattr(o, col, None))) for col, kind in DUPLICATE_KEYS]
        yield failed(
            f"order:{o.id}",
            f"Order {o.id} ({o.plan_id}) has been '{o.status}' for "
            f"{age_text(inp.now - since)} (SLA {age_text(sla)}).",
            evidence={"status": o.status, "since": since.isoformat(), "plan": o.plan_id},
            cause=[("FLOW-ORDER-DUPLICATE", f"{k}:{v}") for k, v in keys if (k, v) in twice],
        )
    if not stuck:
        yield passed("orders:in_flight", f"{len(moving)} order(s) in flight, none past the SLA.")


@check(
    id="FLOW-ORDER-ERROR",
    area=2,
    severity=Severity.HIGH,
    title="No order is in 'error'",
    sources=["database"],
    tables=["db_orders"],
    rationale="An order in error is a paying customer without a server.",
    remediation="Read the order's error_message, fix the cause, and re-run provisioning.",
)
def order_error(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(inp["db_orders"], "db_orders", ORDER_COLS)
    errors = orders[orders["status"] == "error"]
    for o in errors.itertuples():
        message = getattr(o, "error_message", None)
        message = str(message) if present(message) else "no error message"
        yield failed(
            f"order:{o.id}",
            f"Order {o.id} ({o.plan_id}) failed "
            f"{age_text(inp.now - o.created_at)} after purchase: {message}.",
            evidence={"plan": o.plan_id, "created_at": o.created_at.isoformat()},
            # provisioning creates the server for the customer's panel user: a customer
            # without one (or mapped to one that is gone) fails there
            cause=[
                ("PANEL-ACCOUNT-MAPPED", f"user:{o.user_id}"),
                ("PANEL-ACCOUNT-EXISTS", f"user:{o.user_id}"),
            ],
        )
    if errors.empty:
        yield passed("orders:error", "No order is in 'error'.")


@check(
    id="FLOW-ORDER-DUPLICATE",
    area=2,
    severity=Severity.HIGH,
    title="One order per checkout session and per subscription",
    sources=["database"],
    tables=["db_orders"],
    rationale="Two orders for one payment mean a webhook that is not idempotent: two servers "
    "for one subscription, or one refund too many.",
    remediation="Cancel the duplicate, make the webhook look the order up by session / "
    "subscription before inserting, and keep a UNIQUE index on both columns.",
)
def order_duplicate(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(
        inp["db_orders"],
        "db_orders",
        ["id", "stripe_checkout_session_id", "stripe_subscription_id"],
    )
    dupes = 0
    for column, kind in DUPLICATE_KEYS:
        keyed = orders[present_mask(orders[column])]
        # only the duplicated keys are grouped: iterating 200,000 singleton groups is slow
        repeated = keyed[keyed.duplicated(column, keep=False)]
        for key, group in repeated.groupby(column, sort=True):
            if len(group) > 1:
                dupes += 1
                yield failed(
                    f"{kind}:{key}",
                    f"{len(group)} orders record {kind} {key}: "
                    f"{', '.join(sorted(map(str, group['id'])))}.",
                    evidence={"orders": records(group[["id", "status", "created_at"]])},
                )
    if not dupes:
        yield passed(
            "orders:unique",
            f"Each of the {len(orders)} orders has its own checkout session and subscription.",
        )


@check(
    id="FLOW-ORDER-FIELDS",
    area=2,
    severity=Severity.HIGH,
    title="Order fields are complete and valid",
    sources=["database"],
    tables=["db_orders", "db_plans", "db_auth_users", "db_ptero_nodes"],
    rationale="An order for a missing or retired plan, an unknown user, a region no enabled "
    "node serves, an unknown term or without a server name cannot be provisioned as sold.",
    remediation="Validate plan, region and term in create-checkout-session, and correct the "
    "listed orders.",
)
def order_fields(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(inp["db_orders"], "db_orders", [*ORDER_COLS, "region", "term"])
    plans = require_columns(inp["db_plans"], "db_plans", ["id", "active"])
    nodes = require_columns(inp["db_ptero_nodes"], "db_ptero_nodes", ["region", "enabled"])
    users = ids(inp["db_auth_users"]["id"])
    all_plans = ids(plans["id"])
    active_plans = ids(plans.loc[plans["active"].fillna(False).astype(bool), "id"])
    regions = set(nodes.loc[nodes["enabled"].fillna(False).astype(bool), "region"].astype(str))
    catalog = inp.config.catalog
    terms = set(catalog.terms) if catalog else {"monthly", "quarterly", "yearly"}
    open_orders = orders[~orders["status"].isin(CLOSED)]
    has_name = "server_name" in orders
    cols = ["id", "status", "plan_id", "user_id", "region", "term"]
    cols += ["server_name"] if has_name else []
    bad = 0
    for o in open_orders[cols].itertuples(index=False):
        problems, warnings = [], []
        if o.plan_id not in all_plans:
            problems.append(f"plan {o.plan_id} does not exist")
        elif o.plan_id not in active_plans:
            problems.append(f"plan {o.plan_id} is not active")
        if str(o.user_id) not in users:
            problems.append(f"user {o.user_id} is not in auth.users")
        if str(o.region) not in regions:
            problems.append(f"no enabled node serves region {o.region}")
        if str(o.term) not in terms:
            problems.append(f"term {o.term!r} is not one of {', '.join(sorted(terms))}")
        if has_name and not present(o.server_name):
            warnings.append("no server name")
        if problems or warnings:
            bad += 1
            make = failed if problems else warned
            yield make(
                f"order:{o.id}",
                f"Order {o.id}: {'; '.join(problems + warnings)}.",
                evidence={"status": o.status, "plan": o.plan_id, "region": o.region},
            )
    if not bad:
        yield passed(
            "orders:fields",
            f"All {len(open_orders)} open orders have a valid plan, "
            "user, region, term and server name.",
        )
