"""Stripe objects (wire format) for the demo dataset, live and test mode."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readiness.sandbox.dataset import Defect, Ids

WEBHOOK_EVENTS = [
    "checkout.session.completed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
]
WEBHOOK_URL = "https://demo-hosting.supabase.co/functions/v1/stripe-webhook"


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _product(pid: str, name: str, game: str, active: bool, live: bool, created: int) -> dict:
    return {
        "id": pid,
        "object": "product",
        "active": active,
        "name": name,
        "livemode": live,
        "created": created,
        "default_price": None,
        "metadata": {"game": game},
    }


def _price(
    price_id: str, product: str, plan: dict[str, Any], live: bool, created: int, **over: Any
) -> dict:
    price = {
        "id": price_id,
        "object": "price",
        "active": True,
        "livemode": live,
        "currency": plan["currency"],
        "unit_amount": plan["price_cents"],
        "type": "recurring",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "product": product,
        "lookup_key": f"{plan['id']}-{plan['term']}",
        "nickname": plan["display_name"],
        "metadata": {"plan_id": plan["id"]},
        "created": created,
    }
    price.update(over)
    return price


def build(
    ids: Ids,
    rng: random.Random,
    plans: list[dict[str, Any]],
    users: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    now: datetime,
    plant: bool,
    defects: list[Defect],
) -> dict[str, Any]:
    from readiness.sandbox.dataset import Defect

    created = _ts(now - timedelta(days=120))
    live: dict[str, list[dict]] = {k: [] for k in _COLLECTIONS}
    test: dict[str, list[dict]] = {k: [] for k in _COLLECTIONS}
    products: dict[str, str] = {}
    test_products: dict[str, str] = {}
    for plan in plans:
        game = plan["game"]
        if game not in products:
            products[game] = ids.stripe("prod", "Q")
            test_products[game] = ids.stripe("prod", "T")
            name = plan["display_name"].rsplit(" ", 2)[0]
            archived = plant and game == "mindustry"
            live["products"].append(
                _product(products[game], name, game, not archived, True, created)
            )
            test["products"].append(_product(test_products[game], name, game, True, False, created))
        kind = plan["_price"]
        test["prices"].append(
            _price(ids.stripe("price", "1T"), test_products[game], plan, False, created)
        )
        if kind in ("none", "shared"):
            continue
        if kind == "test":
            test["prices"].append(
                _price(plan["stripe_price_id"], test_products[game], plan, False, created)
            )
            continue
        over: dict[str, Any] = {}
        if kind == "archived":
            over["active"] = False
        elif kind == "yearly":
            over["recurring"] = {"interval": "year", "interval_count": 1, "usage_type": "licensed"}
            over["unit_amount"] = plan["price_cents"] * 10
        elif kind == "amount":
            over["unit_amount"] = plan["price_cents"] + 500
        live["prices"].append(
            _price(plan["stripe_price_id"], products[game], plan, True, created, **over)
        )
    # an old archived price nobody uses any more: normal Stripe history, not a defect
    first = plans[0]
    live["prices"].append(
        _price(
            ids.stripe("price", "1SP"),
            products[first["game"]],
            first,
            True,
            created - 86400,
            active=False,
            lookup_key=None,
        )
    )

    _customers_sessions_subscriptions(ids, users, orders, plans, now, live)
    _events(ids, orders, now, live, plant, defects, Defect)

    enabled = [e for e in WEBHOOK_EVENTS if not (plant and e == "customer.subscription.deleted")]
    live["webhook_endpoints"].append(
        {
            "id": "we_" + ids.token(24),
            "object": "webhook_endpoint",
            "url": WEBHOOK_URL,
            "status": "enabled",
            "enabled_events": enabled,
            "api_version": None,
            "livemode": True,
            "created": created,
            "description": "Supabase stripe-webhook",
            "metadata": {},
        }
    )
    if plant:
        endpoint = live["webhook_endpoints"][0]["id"]
        defects.append(
            Defect(
                "webhook-missing-event",
                "STRIPE-WEBHOOK-EVENTS",
                f"webhook_endpoint:{endpoint}",
                "the live endpoint does not subscribe to customer.subscription.deleted, "
                "which the webhook code handles",
            )
        )
    account = {
        "id": "acct_1DemoHosting0000",
        "object": "account",
        "business_profile": {"name": "Demo Game Hosting"},
        "charges_enabled": True,
        "payouts_enabled": not plant,
        "details_submitted": True,
        "country": "US",
        "default_currency": "usd",
        "settings": {"payments": {"statement_descriptor": "DEMO HOSTING"}},
    }
    if plant:
        defects.append(
            Defect(
                "payouts-disabled",
                "STRIPE-ACCOUNT-LIVE",
                "stripe:account",
                "the Stripe account cannot pay out (payouts_enabled=false)",
            )
        )
    return {"account": account, "live": live, "test": test}


_COLLECTIONS = (
    "prices",
    "products",
    "webhook_endpoints",
    "events",
    "checkout_sessions",
    "subscriptions",
    "customers",
)


def _customers_sessions_subscriptions(
    ids: Ids,
    users: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    now: datetime,
    live: dict[str, list[dict]],
) -> None:
    """A customer per user, and a paid session plus a subscription per order."""
    price_of = {p["id"]: p["stripe_price_id"] for p in plans}
    customer_of: dict[str, str] = {}
    for u in users:
        cid = ids.stripe("cus", "Q")
        customer_of[u["id"]] = cid
        live["customers"].append(
            {
                "id": cid,
                "object": "customer",
                "email": u["email"],
                "livemode": True,
                "created": _ts(u["created_at"]),
                "metadata": {"user_id": u["id"]},
            }
        )
    for o in orders:
        o["stripe_customer_id"] = customer_of[o["user_id"]]
        if o.get("_dup_of"):
            continue  # a second order recorded for an existing session: no Stripe objects
        meta = {
            "user_id": o["user_id"],
            "plan_id": o["plan_id"],
            "region": o["region"],
            "server_name": o["server_name"],
            "term": o["term"],
        }
        paid = o["status"] != "pending"
        created = _ts(o["created_at"] - timedelta(minutes=2))
        live["checkout_sessions"].append(
            {
                "id": o["stripe_checkout_session_id"],
                "object": "checkout.session",
                "mode": "subscription",
                "status": "complete" if paid else "expired",
                "payment_status": "paid" if paid else "unpaid",
                "subscription": o["stripe_subscription_id"],
                "customer": o["stripe_customer_id"],
                "metadata": meta,
                "success_url": "https://demo-hosting.example/checkout/success?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://demo-hosting.example/checkout/cancel",
                "created": created,
                "livemode": True,
                "amount_total": o["amount_cents"],
                "currency": o["currency"],
            }
        )
        if not paid:
            continue
        live["subscriptions"].append(
            {
                "id": o["stripe_subscription_id"],
                "object": "subscription",
                "status": o.get("_sub_status")
                or ("canceled" if o["status"] == "canceled" else "active"),
                "customer": o["stripe_customer_id"],
                "created": created + 60,
                "livemode": True,
                "cancel_at_period_end": False,
                "metadata": meta,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": ids.stripe("si", "Q"),
                            "object": "subscription_item",
                            "price": {"id": price_of[o["plan_id"]], "object": "price"},
                            "current_period_end": _ts(now + timedelta(days=20)),
                            "quantity": 1,
                        }
                    ],
                    "has_more": False,
                },
            }
        )


def _events(ids, orders, now, live, plant, defects, Defect) -> None:  # noqa: ANN001
    """checkout.session.completed per recent paid order; planted stuck deliveries."""
    horizon = now - timedelta(days=30)
    for o in orders:
        if o["status"] == "pending" or o["created_at"] < horizon or o.get("_dup_of"):
            continue
        live["events"].append(
            {
                "id": "evt_" + ids.token(24),
                "object": "event",
                "type": "checkout.session.completed",
                "created": _ts(o["created_at"]),
                "livemode": True,
                "pending_webhooks": 0,
                "api_version": "2026-10-28",
                "data": {
                    "object": {"id": o["stripe_checkout_session_id"], "object": "checkout.session"}
                },
                "request": {"id": None, "idempotency_key": None},
            }
        )
    if not plant:
        return
    stuck = [o for o in orders if o["status"] in ("active", "provisioned")][:3]
    for n, o in enumerate(stuck):
        live["events"].append(
            {
                "id": "evt_" + ids.token(24),
                "object": "event",
                "type": "customer.subscription.updated",
                "created": _ts(now - timedelta(hours=3 + n)),
                "livemode": True,
                "pending_webhooks": 1,
                "api_version": "2026-10-28",
                "data": {"object": {"id": o["stripe_subscription_id"], "object": "subscription"}},
                "request": {"id": None, "idempotency_key": None},
            }
        )
    defects.append(
        Defect(
            "undelivered-events",
            "STRIPE-EVENTS-UNDELIVERED",
            "stripe:events:undelivered",
            f"{len(stuck)} events have been waiting for webhook delivery for hours",
        )
    )
