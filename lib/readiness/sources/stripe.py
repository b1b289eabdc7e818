"""Stripe source: read-only pulls through the official ``stripe`` library.

Fetches the account, prices (with their products), products, webhook endpoints,
recent events and checkout sessions, and subscriptions, into typed tables. It never
judges them. Every request is a GET; the key is never written to a table, a note or
an error message (the ``stripe_key`` table holds only the mode/kind from its prefix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe

from readiness.sources._http_common import MAX_PAGES, Deadline, RateLimiter, frame, scrub
from readiness.sources.base import SourceError, SourceResult
from readiness.sources.stripe_http import HttpClient
from readiness.sources.stripe_paging import ListJob, Range, newest_first, pull_lists
from readiness.sources.stripe_tables import SCHEMAS

__all__ = ["SCHEMAS", "collect_stripe", "key_profile"]

DEFAULT_API_BASE = "https://api.stripe.com"
PAGE_LIMIT = 100


def key_profile(key: str | None) -> dict[str, str]:
    """Mode and kind of a Stripe key, judged from its prefix only."""
    key = key or ""
    kinds = {"sk": "secret", "rk": "restricted", "pk": "publishable"}
    head, _, rest = key.partition("_")
    mode = rest.split("_", 1)[0] if rest else ""
    return {
        "mode": mode if mode in ("live", "test") else "unknown",
        "kind": kinds.get(head, "unknown") if mode in ("live", "test") else "unknown",
    }


class _Collector:
    """Runs the list pulls with loop guards and progress messages."""

    def __init__(
        self, http: HttpClient, progress: Callable[[str], None] | None, workers: int = 1
    ) -> None:
        self.http = http
        self.progress = progress
        self.workers = workers

    def pull(
        self, label: str | None, lister: Callable[[dict[str, Any]], Any], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Every object of one list, newest first; stops on a cursor that does not advance."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for obj in lister({"limit": PAGE_LIMIT, **params}).auto_paging_iter():
            item = obj.to_dict()
            obj_id = str(item.get("id"))
            if obj_id in seen:
                raise SourceError(
                    f"stripe: pagination of {self.http.last_path} does not advance "
                    f"({obj_id} returned twice) — stopped"
                )
            seen.add(obj_id)
            out.append(item)
            if len(out) > MAX_PAGES * PAGE_LIMIT:
                raise SourceError(
                    f"stripe: {self.http.last_path} has more than {MAX_PAGES} pages — stopped"
                )
        self.report(label, len(out))
        return out

    def pull_long(self, client: stripe.StripeClient, jobs: dict[str, ListJob]) -> None:
        """Long lists, fetched together as concurrent `created` ranges (see stripe_paging).

        Pages go through the library's `raw_request` (same auth, encoding, errors and
        HTTP client) but stay plain JSON: building a StripeObject per row costs more CPU
        than the request itself at 100,000 rows."""

        def page(path: str, query: dict[str, Any]) -> dict[str, Any]:
            return client.raw_request("get", path, **query).data

        pull_lists(page, list(jobs.values()), workers=self.workers)
        for label, job in jobs.items():
            self.report(label, len(job.rows))

    def report(self, label: str | None, count: int) -> None:
        if self.progress and label:
            self.progress(f"stripe: {label} {count}")


def _ref_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _metadata(value: Any) -> str:
    if not value:
        return "{}"  # most objects: skip the encoder (a quarter of a million calls at scale)
    return json.dumps(value, sort_keys=True, default=str)


def _price_row(p: dict[str, Any]) -> dict[str, Any]:
    product = p.get("product")
    expanded = product if isinstance(product, dict) else {}
    recurring = p.get("recurring") or {}
    return {
        **{
            k: p.get(k)
            for k in (
                "id",
                "livemode",
                "active",
                "currency",
                "unit_amount",
                "type",
                "lookup_key",
                "nickname",
                "created",
            )
        },
        "recurring_interval": recurring.get("interval"),
        "recurring_interval_count": recurring.get("interval_count"),
        "product_id": _ref_id(product),
        "product_active": expanded.get("active"),
        "product_name": expanded.get("name"),
    }


def _prices(col: _Collector, client: stripe.StripeClient, label: str) -> list[dict[str, Any]]:
    """Active and inactive prices, pulled separately: the list endpoint is documented
    as returning active prices unless ``active=false`` is sent, so one pass could miss
    the archived prices an audit most needs to see."""
    by_id: dict[str, dict[str, Any]] = {}
    for active in (True, False):
        for p in col.pull(
            None, client.v1.prices.list, {"active": active, "expand": ["data.product"]}
        ):
            by_id[p["id"]] = p
    col.report(label, len(by_id))
    return [_price_row(p) for p in by_id.values()]


def _session_row(s: dict[str, Any]) -> dict[str, Any]:
    row = {
        k: s.get(k)
        for k in (
            "id",
            "mode",
            "status",
            "payment_status",
            "created",
            "livemode",
            "success_url",
            "cancel_url",
        )
    }
    return {
        **row,
        "subscription": _ref_id(s.get("subscription")),
        "customer": _ref_id(s.get("customer")),
        "metadata": _metadata(s.get("metadata")),
    }


def _subscription_row(s: dict[str, Any]) -> dict[str, Any]:
    items = (s.get("items") or {}).get("data") or []
    return {
        **{k: s.get(k) for k in ("id", "status", "created", "livemode", "cancel_at_period_end")},
        "customer": _ref_id(s.get("customer")),
        "metadata": _metadata(s.get("metadata")),
        "price_ids": [str(_ref_id(i.get("price"))) for i in items if i.get("price")],
    }


def _event_row(e: dict[str, Any]) -> dict[str, Any]:
    obj = (e.get("data") or {}).get("object") or {}
    row = {k: e.get(k) for k in ("id", "type", "created", "livemode", "pending_webhooks")}
    return {**row, "object_id": obj.get("id") if isinstance(obj, dict) else None}


def _describe(exc: Exception, http: HttpClient, base: str, key_name: str) -> str:
    """One line naming the source, the request and the fault — never the key."""
    path = http.last_path or "/v1"
    retries = f"after {http.last_retries} retries"
    if isinstance(exc, stripe.AuthenticationError):
        return f"stripe: authentication failed (401) — check the key named by {key_name}"
    if isinstance(exc, stripe.PermissionError):
        return (
            f"stripe: permission denied (403) on {path} — the key cannot read this "
            "resource (restricted key without read access?)"
        )
    if isinstance(exc, stripe.RateLimitError):
        return f"stripe: rate limited (429) on {path} {retries}"
    if isinstance(exc, stripe.APIConnectionError):
        if http.last_failure == "connect":
            return f"stripe: could not connect to {base}"
        if http.last_failure == "timeout":
            if http.deadline.remaining() <= 0:
                return (
                    f"stripe: gave up after {http.deadline.seconds:g}s on {path} "
                    "(time budget sources.stripe.max_seconds)"
                )
            return f"stripe: timed out after {http.timeout_s}s on {path} {retries}"
        return f"stripe: connection dropped on {path} {retries}"
    if isinstance(exc, stripe.InvalidRequestError):
        code = f", {exc.code}" if exc.code else ""
        return (
            f"stripe: request rejected (HTTP {exc.http_status}{code}) on {path}: "
            f"{exc.user_message or ''}"
        )
    if isinstance(exc, stripe.StripeError):
        status = exc.http_status or 0
        if 200 <= status < 300:
            return f"stripe: malformed JSON from {path}"
        if status >= 500:
            return f"stripe: HTTP {status} on {path} {retries}"
        return f"stripe: unexpected response (HTTP {status}) from {path}"
    return f"stripe: unexpected response from {path}: {type(exc).__name__}"


@contextmanager
def _translate_errors(
    http: HttpClient, base: str, secrets: list[str | None], key_name: str = "stripe.api_key_env"
) -> Iterator[None]:
    """Turn library exceptions into SourceErrors; the original is dropped (it may echo
    request details) and the message is scrubbed of the keys as a last guard."""
    try:
        yield
    except SourceError:
        raise
    except (stripe.StripeError, LookupError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(scrub(_describe(exc, http, base, key_name), secrets)) from None


def collect_stripe(
    api_key: str,
    *,
    api_base: str | None = None,
    test_api_key: str | None = None,
    timeout_s: float = 20.0,
    max_retries: int = 3,
    lookback_days: int = 30,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    max_seconds: float = 600.0,
    concurrency: int = 8,
    rate_limit_per_s: float | None = 90.0,
) -> SourceResult:
    """Pull the Stripe tables (see ``SCHEMAS``) with ``api_key``; raise SourceError if not."""
    if not api_key:
        raise SourceError("stripe: no API key given — set the variable named by stripe.api_key_env")
    stripe.enable_telemetry = False  # no telemetry header, no id file under ~/.config
    base = (api_base or DEFAULT_API_BASE).rstrip("/")
    now = now or datetime.now(UTC)
    since = int((now - timedelta(days=lookback_days)).timestamp())
    http = HttpClient(
        timeout_s, max_retries, Deadline("stripe", max_seconds), RateLimiter(rate_limit_per_s)
    )
    col = _Collector(http, progress, concurrency)
    until = int(now.timestamp()) + 86_400  # a day of slack for clock skew
    secrets = [api_key, test_api_key]

    def client_for(key: str) -> stripe.StripeClient:
        return stripe.StripeClient(
            key, base_addresses={"api": base}, max_network_retries=max_retries, http_client=http
        )

    try:
        client = client_for(api_key)
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
        notes: list[str] = []
        rows["stripe_key"] = [key_profile(api_key)]
        with _translate_errors(http, base, secrets):
            account = client.v1.accounts.retrieve_current().to_dict()
            rows["stripe_account"] = [account]
            rows["stripe_prices"] = _prices(col, client, "prices")
            rows["stripe_products"] = [
                {**p, "default_price": _ref_id(p.get("default_price"))}
                for p in col.pull("products", client.v1.products.list, {})
            ]
            rows["stripe_webhook_endpoints"] = col.pull(
                "webhook endpoints", client.v1.webhook_endpoints.list, {}
            )
            # A subscription is never older than the oldest price (prices are archived,
            # never deleted), so its window starts there; the older rest is still fetched.
            floor = min((int(p.get("created") or 0) for p in rows["stripe_prices"]), default=0)
            window = [Range(since, until)]
            jobs = {
                "events": ListJob("/v1/events", {}, window, _event_row),
                "checkout sessions": ListJob("/v1/checkout/sessions", {}, window, _session_row),
                "subscriptions": ListJob(
                    "/v1/subscriptions",
                    {"status": "all"},
                    [Range(floor, until), Range(0, floor)] if floor > 0 else [Range(0, until)],
                    _subscription_row,
                ),
            }
            col.pull_long(client, jobs)
            for table, label in (
                ("stripe_events", "events"),
                ("stripe_checkout_sessions", "checkout sessions"),
                ("stripe_subscriptions", "subscriptions"),
            ):
                rows[table] = newest_first(jobs[label].rows)
        if test_api_key:
            with _translate_errors(http, base, secrets, "stripe.test_api_key_env"):
                rows["stripe_test_prices"] = _prices(col, client_for(test_api_key), "test prices")
        else:
            notes.append("stripe: no test key given; stripe_test_prices is empty")
    finally:
        http.close()  # the per-thread sessions and their kept-alive connections
    tables = {name: frame(rows[name], schema) for name, schema in SCHEMAS.items()}
    return SourceResult(tables=tables, requests=http.count, throttled=http.throttled, notes=notes)
