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
from readiness.sources.stripe_paging import Range, fan_out, next_ranges

NOW = 1_790_000_000


def page(*created: int) -> list[dict]:
    return [{"id": f"x{i}", "created": c} for i, c in enumerate(created)]


def test_next_ranges_rule():
    r = Range(0, 1000)
    assert next_ranges(r, page(900, 800), has_more=False) == []
    assert next_ranges(r, [], has_more=True) == []
    left, right = next_ranges(Range(0, 10_000), page(9000, 8900), has_more=True)
    assert left == Range(0, 8100) and right == Range(8100, 10_000, "x1")  # 8 pages ahead
    left, right = next_ranges(r, page(900, 800), has_more=True)
    assert left == Range(0, 1) and right == Range(1, 1000, "x1")
    # one second left above the range start: the older second is split off
    assert next_ranges(Range(799, 1000), page(800, 800), True) == [
        Range(799, 800),
        Range(800, 1000, "x1"),
    ]
    # everything in the range's first second: cannot split, continue with the cursor
    assert next_ranges(Range(800, 1000), page(800, 800), True) == [Range(800, 1000, "x1")]


def test_fan_out_tiles_the_rest_of_a_window():
    full = page(*range(1000, 900, -1))  # 100 objects, last created at 901
    assert fan_out(Range(100, 1001), full[:5], has_more=False, parts=8) == []
    got = fan_out(Range(100, 1001), full, has_more=True, parts=8)
    assert len(got) == 8 and got[0].lo == 100 and got[-1] == Range(901, 1001, "x99")
    assert all(a.hi == b.lo for a, b in zip(got, got[1:], strict=False))
    # open-ended windows keep the adaptive two-way split
    assert fan_out(Range(0, 1001), full, True, 8) == next_ranges(Range(0, 1001), full, True)


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
    # no successful request was made twice (same path and query)
    keys = Counter((r.path, tuple(sorted((k, str(v)) for k, v in r.query.items()))) for r in ok)
    assert max(keys.values()) == 1
    if knobs.rate_limit:
        assert any(r.status == 429 for r in emu.requests)
