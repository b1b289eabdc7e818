"""Column types of the tables the Stripe source produces (names are the public API of
the source: checks and tests read them).

Split from `stripe.py` so the fetching code and the table contract read separately;
`stripe.SCHEMAS` re-exports this dict.
"""

from __future__ import annotations

from readiness.sources._http_common import Schema

_PRICE: Schema = {
    "id": "string",
    "livemode": "boolean",
    "active": "boolean",
    "currency": "string",
    "unit_amount": "Int64",
    "type": "string",
    "recurring_interval": "string",
    "recurring_interval_count": "Int64",
    "product_id": "string",
    "product_active": "boolean",
    "product_name": "string",
    "lookup_key": "string",
    "nickname": "string",
    "created": "epoch",
}
SCHEMAS: dict[str, Schema] = {
    "stripe_account": {
        "id": "string",
        "charges_enabled": "boolean",
        "payouts_enabled": "boolean",
        "details_submitted": "boolean",
        "country": "string",
        "default_currency": "string",
    },
    "stripe_key": {"mode": "string", "kind": "string"},
    "stripe_prices": _PRICE,
    "stripe_products": {
        "id": "string",
        "active": "boolean",
        "name": "string",
        "livemode": "boolean",
        "default_price": "string",
        "created": "epoch",
    },
    "stripe_test_prices": _PRICE,
    "stripe_webhook_endpoints": {
        "id": "string",
        "url": "string",
        "status": "string",
        "enabled_events": "list",
        "api_version": "string",
        "livemode": "boolean",
        "created": "epoch",
    },
    "stripe_events": {
        "id": "string",
        "type": "string",
        "created": "epoch",
        "livemode": "boolean",
        "pending_webhooks": "Int64",
        "object_id": "string",
    },
    "stripe_checkout_sessions": {
        "id": "string",
        "mode": "string",
        "status": "string",
        "payment_status": "string",
        "subscription": "string",
        "customer": "string",
        "created": "epoch",
        "livemode": "boolean",
        "success_url": "string",
        "cancel_url": "string",
        "metadata": "string",
    },
    "stripe_subscriptions": {
        "id": "string",
        "status": "string",
        "customer": "string",
        "created": "epoch",
        "livemode": "boolean",
        "cancel_at_period_end": "boolean",
        "price_ids": "list",
        "metadata": "string",
    },
}
