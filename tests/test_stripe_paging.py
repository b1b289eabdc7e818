"""Concurrent range paging is complete: the same rows as sequential paging, no request
duplicated, nothing skipped at range boundaries (many objects per second), and it
survives 429s. Timing is measured in bench/, not asserted here."""

from __future__ import annotations

import random
import secrets
from collections import Counter

import pytest

from readiness.sandbox.httpbase import Knobs
from readiness.sandbox.stripe_emulator import StripeEmulator
from readiness.sources.stripe import collect_stripe
from readiness.sources.stripe_paging import Range, estimated_pages_left, split_rest

NOW = 1_790_000_000


def page(*created: int) -> list[dict]:
    return [{"id": f"x{i}", "created": c} for i, c in enumerate(created)]


def test_split_rest_rule():
    r = Range(0, 1000)
    assert split_rest(r, page(900, 800), has_more=False, parts=4) == []
    assert split_rest(r, [], has_more=True, parts=4) == []
    # parts=1: continue the cursor
    assert split_rest(r, page(900, 800), True, parts=1) == [Range(0, 1000, "x1")]
    # halves of the rest [lo, t]: the older half fresh, the newer half after the cursor
    assert split_rest(Range(0, 10_000), page(9000, 8000), True, parts=2) == [
        Range(0, 4000),
        Range(4000, 10_000, "x1"),
    ]
    # k parts tile [lo, t] without gaps; only the newest one carries the cursor
    got = split_rest(Range(100, 1001), page(*range(1000, 900, -1)), True, parts=8)
    assert len(got) == 8 and got[0].lo == 100 and got[-1].after == "x99"
    assert got[-1].lo <= 901 and got[-1].hi == 1001
    assert all(a.hi == b.lo and a.after is None for a, b in zip(got, got[1:], strict=False))
    # one second left above the range start: at most one older one-second slice
    assert split_rest(Range(799, 1000), page(800, 800), True, parts=8) == [
        Range(799, 800),
        Range(800, 1000, "x1"),
    ]
    # everything in the range's first second: cannot split, continue with the cursor
    assert split_rest(Range(800, 1000), page(800, 800), True, parts=8) == [Range(800, 1000, "x1")]


def test_estimated_pages_left_follows_density():
    dense = page(*range(1000, 900, -1))  # 100 objects in 99 s, rest [0, 901]
    assert 9 < estimated_pages_left(Range(0, 2000), dense) < 9.2
    assert estimated_pages_left(Range(901, 2000), dense) == 0
    assert estimated_pages_left(Range(0, 2000), []) == 0
    same_second = page(*[500] * 100)
    assert estimated_pages_left(Range(0, 2000), same_second) == 500


def sessions(n: int, seed: int = 3) -> list[dict]:
    """Clustered timestamps: bursts of many sessions in the same second."""
    rng = random.Random(seed)
    out = []
    t = NOW - 10
    for i in range(n):
        if rng.random() < 0.3:
            t -= rng.randint(1, 900)
        out.append(
            {
                "id": f"cs_live_{i:05d}",
                "object": "checkout.session",
                "created": t,
                "livemode": True,
                "mode": "subscription",
                "status": "complete",
                "payment_status": "paid",
                "metadata": {},
            }
        )
    return out


def world(n: int) -> dict:
    live = {
        k: []
        for k in (
            "prices",
            "products",
            "webhook_endpoints",
            "events",
            "checkout_sessions",
            "subscriptions",
            "customers",
        )
    }
    live["checkout_sessions"] = sessions(n)
    live["subscriptions"] = [
        {
            "id": f"sub_{i:05d}",
            "object": "subscription",
            "status": "active",
            "created": NOW - 3 * i // 2,
            "livemode": True,
            "items": {"data": []},
            "metadata": {},
        }
        for i in range(n)
    ]
    live["events"] = [
        {
            "id": f"evt_{i:05d}",
            "object": "event",
            "type": "invoice.paid",
            "created": NOW - i // 7,
            "livemode": True,
            "pending_webhooks": 0,
            "data": {"object": {"id": "x"}},
        }
        for i in range(n)
    ]
    acct = {
        "id": "acct_1",
        "object": "account",
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
    }
    # a price younger than half the subscriptions: their window starts at the oldest
    # price, and the older rest must still be fetched
    live["products"] = [{"id": "prod_1", "object": "product", "active": True, "created": NOW}]
    live["prices"] = [
        {
            "id": "price_1",
            "object": "price",
            "active": True,
            "livemode": True,
            "product": "prod_1",
            "created": NOW - 3 * n // 4,
        }
    ]
    return {"account": acct, "live": live, "test": {k: [] for k in live}}


@pytest.mark.parametrize(
    "knobs,n",
    [(Knobs(), 1234), (Knobs(rate_limit=12, rate_window_s=0.5), 450)],
    ids=["plain", "with-429s"],
)
def test_concurrent_equals_sequential(knobs, n):
    key = "rk_live_" + secrets.token_hex(12)
    from datetime import UTC, datetime

    now = datetime.fromtimestamp(NOW, UTC)
    with StripeEmulator(world(n), {key: "live"}, knobs) as emu:
        seq = collect_stripe(
            key,
            api_base=emu.url,
            concurrency=1,
            rate_limit_per_s=None,
            lookback_days=400,
            now=now,
            max_retries=8,
        )
        emu.requests.clear()
        con = collect_stripe(
            key,
            api_base=emu.url,
            concurrency=8,
            rate_limit_per_s=None,
            lookback_days=400,
            now=now,
            max_retries=8,
        )
        ok = [r for r in emu.requests if r.status == 200]
    for table in ("stripe_checkout_sessions", "stripe_subscriptions", "stripe_events"):
        a, b = seq.tables[table], con.tables[table]
        assert len(a) == len(b) == n, table
        assert list(a["id"]) == list(b["id"]), table
    # the lists really were split into concurrent ranges (and the older rest fetched)
    starts = {
        path: {r.query.get("created[gte]") for r in ok if r.path == path}
        for path in ("/v1/checkout/sessions", "/v1/subscriptions", "/v1/events")
    }
    if not knobs.rate_limit:
        # ranges split only while a worker would idle: under 429 holds every worker waits,
        # so whether a short list splits there depends on timing (a loaded machine)
        assert all(len(s) > 1 for s in starts.values()), starts
    assert "0" in starts["/v1/subscriptions"]
    # no successful request was made twice (same path and query)
    keys = Counter((r.path, tuple(sorted((k, str(v)) for k, v in r.query.items()))) for r in ok)
    assert max(keys.values()) == 1
    if knobs.rate_limit:
        assert any(r.status == 429 for r in emu.requests)


class FakeClock:
    """time.monotonic and the cancellable pause for RateLimiter, without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_a_429_holds_every_thread_until_retry_after(monkeypatch):
    from readiness.sources import _http_common

    clock = FakeClock()
    monkeypatch.setattr(_http_common, "time", clock)
    monkeypatch.setattr(_http_common, "pause", lambda seconds, source: clock.sleep(seconds))
    limiter = _http_common.RateLimiter(10)  # one start per 0.1 s
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == [0.1]
    limiter.hold(2.0)  # a Retry-After of 2 s: nobody starts before it has passed
    limiter.acquire()
    assert clock.slept[-1] == 2.0
    limiter.acquire()  # then the pace resumes
    assert clock.slept[-1] == 0.1
    unpaced = _http_common.RateLimiter(None)
    unpaced.acquire()
    unpaced.hold(None)
    unpaced.acquire()
    assert clock.slept[-1] == 0.1  # no pace and no hold: no wait
    unpaced.hold(1000)  # capped like any Retry-After
    unpaced.acquire()
    assert clock.slept[-1] == _http_common.MAX_RETRY_AFTER_S
