"""The Stripe and Pterodactyl sources against the emulators, over loopback, no mocks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from test_emulators import T0, panel_data, stripe_data  # shared tiny dataset builders

from readiness.sandbox.httpbase import Context, Fault, Knobs, Reply
from readiness.sandbox.pterodactyl_emulator import PterodactylEmulator
from readiness.sandbox.stripe_emulator import StripeEmulator
from readiness.sources import pterodactyl as ptero_source
from readiness.sources import stripe as stripe_source
from readiness.sources.base import SourceError
from readiness.sources.pterodactyl import collect_pterodactyl
from readiness.sources.stripe import collect_stripe, key_profile

NOW = datetime.fromtimestamp(T0 + 3600, UTC)


def _keys() -> tuple[str, str]:
    return "rk_live_" + secrets.token_hex(12), "sk_test_" + secrets.token_hex(12)


@pytest.fixture
def stripe_env():
    live, test = _keys()
    with StripeEmulator(stripe_data(n_prices=230), {live: "live", test: "test"}) as emu:
        yield emu, live, test


@pytest.fixture
def panel_env():
    key = "ptla_" + secrets.token_hex(24)
    with PterodactylEmulator(panel_data(), [key]) as emu:
        yield emu, key


def _assert_schema(tables: dict[str, pd.DataFrame], schemas: dict[str, dict[str, str]]) -> None:
    assert set(tables) == set(schemas)
    for name, schema in schemas.items():
        assert list(tables[name].columns) == list(schema), name
        for col, kind in schema.items():
            dtype = str(tables[name][col].dtype)
            if kind in ("epoch", "iso"):
                assert dtype.startswith("datetime64[") and dtype.endswith(", UTC]"), (name, col)
            elif kind == "list":
                assert dtype == "object", (name, col)
            else:
                assert dtype == kind, (name, col, dtype)


def _no_secret(emu: Any, *keys: str) -> None:
    dump = repr(emu.requests)
    assert not any(k in dump for k in keys)
    assert {r.method for r in emu.requests} <= {"GET"}


# -- Stripe ------------------------------------------------------------------------------
def test_collect_stripe_reads_every_page_into_typed_tables(stripe_env):
    emu, live, test = stripe_env
    messages: list[str] = []
    res = collect_stripe(
        live,
        api_base=emu.url,
        test_api_key=test,
        now=NOW,
        lookback_days=5,
        progress=messages.append,
    )
    t = res.tables
    _assert_schema(t, stripe_source.SCHEMAS)
    prices = t["stripe_prices"]
    assert len(prices) == 230 and prices["id"].is_unique
    assert int(prices["active"].sum()) == 184 and prices["product_name"].notna().all()
    assert set(prices["product_active"]) == {True, False}
    assert len(t["stripe_test_prices"]) == 3 and not t["stripe_test_prices"]["livemode"].any()
    assert t["stripe_key"].iloc[0].to_dict() == {"mode": "live", "kind": "restricted"}
    assert t["stripe_account"].iloc[0]["charges_enabled"]
    assert list(t["stripe_events"]["id"]) == [f"evt_{i:03d}" for i in range(5)]  # lookback
    assert t["stripe_events"]["object_id"].iloc[0] == "cs_000"
    sessions = t["stripe_checkout_sessions"]
    assert len(sessions) == 4 and sessions["metadata"].iloc[0] == '{"a": "1", "b": "2"}'
    subs = t["stripe_subscriptions"]
    assert len(subs) == 4 and "canceled" in set(subs["status"])
    assert subs["price_ids"].iloc[0] == ["price_L0001"]
    assert t["stripe_webhook_endpoints"]["enabled_events"].iloc[0] == ["*"]
    assert "stripe: prices 230" in messages
    assert res.requests == len(emu.requests)
    price_pages = [r for r in emu.requests if r.path == "/v1/prices"]
    assert len(price_pages) == 3 + 2  # live: 184 active = 2 pages, 46 inactive = 1; test: 1 + 1
    _no_secret(emu, live, test)


def test_collect_stripe_empty_account_still_yields_every_table():
    live, _ = _keys()
    with StripeEmulator({"account": {"id": "acct_0", "object": "account"}}, {live: "live"}) as emu:
        res = collect_stripe(live, api_base=emu.url, now=NOW)
    _assert_schema(res.tables, stripe_source.SCHEMAS)
    assert all(
        len(df) == 0 for n, df in res.tables.items() if n not in ("stripe_account", "stripe_key")
    )
    assert any("test key" in n for n in res.notes)


@pytest.mark.parametrize(
    ("key", "mode", "kind"),
    [
        ("sk_live_abc", "live", "secret"),
        ("rk_test_abc", "test", "restricted"),
        ("pk_live_abc", "live", "publishable"),
        ("whsec_abc", "unknown", "unknown"),
        ("", "unknown", "unknown"),
    ],
)
def test_key_profile_uses_prefix_only(key, mode, kind):
    assert key_profile(key) == {"mode": mode, "kind": kind}


def test_stripe_bad_key_is_a_clear_error_without_the_key(stripe_env):
    emu, live, _ = stripe_env
    wrong = "sk_live_" + secrets.token_hex(12)
    with pytest.raises(SourceError) as exc:
        collect_stripe(wrong, api_base=emu.url, now=NOW)
    assert str(exc.value).startswith("stripe: authentication failed (401)")
    assert wrong not in str(exc.value) and wrong[-4:] not in str(exc.value)
    with pytest.raises(SourceError, match="stripe.test_api_key_env$"):
        collect_stripe(live, api_base=emu.url, test_api_key=wrong.replace("live", "test"), now=NOW)


def test_stripe_backs_off_on_429_then_succeeds(stripe_env):
    emu, live, _ = stripe_env
    emu.knobs.rate_limit, emu.knobs.rate_window_s = 5, 0.5
    res = collect_stripe(live, api_base=emu.url, now=NOW, max_retries=3)
    assert len(res.tables["stripe_prices"]) == 230
    statuses = [r.status for r in emu.requests]
    assert 429 in statuses and statuses[-1] == 200
    # every 429 the API answered is counted (the bench and run.json report it)
    assert res.throttled == statuses.count(429) and res.requests == len(statuses)


def test_stripe_transient_500_is_retried(stripe_env):
    emu, live, _ = stripe_env
    emu.knobs.faults.append(Fault("/v1/prices", "status", status=500, times=2))
    res = collect_stripe(live, api_base=emu.url, now=NOW, max_retries=3)
    assert len(res.tables["stripe_prices"]) == 230
    assert [r.status for r in emu.requests if r.path == "/v1/prices"][:3] == [500, 500, 200]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            Fault("/v1/prices", "status", status=500),
            "stripe: HTTP 500 on /v1/prices after 1 retries",
        ),
        (Fault("/v1/prices", "malformed"), "stripe: malformed JSON from /v1/prices"),
        (
            Fault("/v1/products", "drop"),
            "stripe: connection dropped on /v1/products after 1 retries",
        ),
        (
            Fault("/v1/events", "endless_pagination"),
            "stripe: pagination of /v1/events does not advance",
        ),
        (Fault("/v1/account", "slow", delay_s=1.0), "stripe: timed out after 0.3s on /v1/account"),
        (
            Fault("/v1/webhook_endpoints", "status", status=403),
            "stripe: permission denied (403) on /v1/webhook_endpoints",
        ),
    ],
)
def test_stripe_faults_become_source_errors(stripe_env, fault, message):
    emu, live, test = stripe_env
    emu.knobs.faults.append(fault)
    with pytest.raises(SourceError) as exc:
        collect_stripe(
            live, api_base=emu.url, test_api_key=test, now=NOW, timeout_s=0.3, max_retries=1
        )
    assert str(exc.value).startswith(message)
    assert live not in str(exc.value) and test not in str(exc.value)
    _no_secret(emu, live, test)


def test_stripe_unreachable_names_the_address():
    live, _ = _keys()
    emu = StripeEmulator({}, {live: "live"})
    url = emu.start()
    emu.stop()
    with pytest.raises(SourceError, match=f"stripe: could not connect to {url}$"):
        collect_stripe(live, api_base=url, max_retries=0, timeout_s=2)


# -- Pterodactyl -------------------------------------------------------------------------
def test_collect_pterodactyl_follows_pages_into_typed_tables(panel_env):
    emu, key = panel_env
    messages: list[str] = []
    res = collect_pterodactyl(emu.url, key, per_page=2, progress=messages.append)
    t = res.tables
    _assert_schema(t, ptero_source.SCHEMAS)
    assert list(t["panel_servers"]["id"]) == list(range(1, 8))
    assert len(t["panel_users"]) == 7 and len(t["panel_allocations"]) == 5
    assert set(t["panel_allocations"]["node_id"]) == {1}
    nodes = t["panel_nodes"].set_index("id")
    assert nodes.loc[1, "allocated_memory"] == 1024 * 16 and bool(nodes.loc[2, "maintenance_mode"])
    eggs = t["panel_eggs"]
    assert list(eggs["id"]) == [5, 6] and set(eggs["nest_id"]) == {1}
    assert eggs["docker_images"].iloc[0] == ["ghcr.io/x/java:21", "ghcr.io/x/java:17"]
    variables = t["panel_egg_variables"]
    assert list(variables["required"]) == [True, False, True, False]
    assert list(variables["egg_id"]) == [5, 5, 6, 6]
    server = t["panel_servers"].iloc[1]
    assert (server["node_id"], server["egg_id"], server["memory"]) == (2, 6, 2048)
    assert server["environment"] == '{"MC_VERSION": "1.21"}'
    assert "pterodactyl: servers 7" in messages
    assert res.requests == len(emu.requests)
    server_pages = [r for r in emu.requests if r.path == "/api/application/servers"]
    # page 1 first, then the rest concurrently (any order)
    assert server_pages[0].query["page"] == "1"
    assert sorted(r.query["page"] for r in server_pages) == ["1", "2", "3", "4"]
    assert all(r.query["per_page"] == "2" for r in server_pages)
    _no_secret(emu, key)


def test_collect_pterodactyl_empty_panel_still_yields_every_table():
    key = "ptla_" + secrets.token_hex(24)
    with PterodactylEmulator({}, [key]) as emu:
        res = collect_pterodactyl(emu.url, key)
    _assert_schema(res.tables, ptero_source.SCHEMAS)
    assert all(len(df) == 0 for df in res.tables.values())


def test_panel_backs_off_on_429_then_succeeds(panel_env):
    emu, key = panel_env
    emu.knobs.rate_limit, emu.knobs.rate_window_s = 5, 0.5
    res = collect_pterodactyl(emu.url, key, max_retries=3)
    assert len(res.tables["panel_servers"]) == 7
    statuses = [r.status for r in emu.requests]
    assert 429 in statuses and res.throttled == statuses.count(429)


def test_panel_concurrent_pages_equal_sequential_across_429s():
    """Pages fetched concurrently (once page 1 gives the count) return exactly what one
    page at a time returns, also when the panel answers 429 in between."""
    from collections import Counter

    key = "ptla_" + secrets.token_hex(24)
    knobs = Knobs(rate_limit=6, rate_window_s=0.5)
    with PterodactylEmulator(panel_data(n_servers=230), [key], knobs) as emu:
        seq = collect_pterodactyl(emu.url, key, per_page=20, concurrency=1, max_retries=8)
        emu.requests.clear()
        con = collect_pterodactyl(emu.url, key, per_page=20, concurrency=4, max_retries=8)
        statuses = [r.status for r in emu.requests]
        ok = [r for r in emu.requests if r.status == 200]
    for table in ("panel_servers", "panel_users", "panel_nodes", "panel_allocations"):
        assert seq.tables[table]["id"].tolist() == con.tables[table]["id"].tolist(), table
    assert len(con.tables["panel_servers"]) == 230
    keys = Counter((r.path, tuple(sorted(r.query.items()))) for r in ok)
    assert max(keys.values()) == 1  # no page fetched twice
    assert keys[(f"{API}/servers", (("page", "12"), ("per_page", "20")))] == 1
    assert 429 in statuses and con.throttled == statuses.count(429)


API = "/api/application"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            Fault(f"{API}/locations", "status", status=500),
            f"pterodactyl: HTTP 500 on {API}/locations after 1 retries",
        ),
        (Fault(f"{API}/nodes", "malformed"), f"pterodactyl: malformed JSON from {API}/nodes"),
        (Fault(f"{API}/nests", "drop"), f"pterodactyl: connection dropped on {API}/nests"),
        (
            Fault(f"{API}/users", "endless_pagination"),
            f"pterodactyl: pagination of {API}/users does not advance",
        ),
        (
            Fault(f"{API}/servers", "slow", delay_s=1.0),
            f"pterodactyl: timed out after 0.3s on {API}/servers",
        ),
    ],
)
def test_panel_faults_become_source_errors(panel_env, fault, message):
    emu, key = panel_env
    emu.knobs.faults.append(fault)
    with pytest.raises(SourceError) as exc:
        collect_pterodactyl(emu.url, key, timeout_s=0.3, max_retries=1)
    assert str(exc.value).startswith(message) and key not in str(exc.value)
    _no_secret(emu, key)


def test_panel_bad_key_and_unreachable(panel_env):
    emu, key = panel_env
    wrong = "ptla_" + secrets.token_hex(24)
    with pytest.raises(SourceError, match=r"^pterodactyl: authentication failed \(401\)") as exc:
        collect_pterodactyl(emu.url, wrong)
    assert wrong not in str(exc.value)
    dead = PterodactylEmulator({}, [key])
    url = dead.start()
    dead.stop()
    with pytest.raises(SourceError, match=f"^pterodactyl: could not connect to {url}$"):
        collect_pterodactyl(url, key, max_retries=0, timeout_s=2)


class _OddPanel(PterodactylEmulator):
    """Answers the locations list with something that is not a panel list envelope."""

    def route(self, ctx: Context) -> Reply:
        if ctx.path == f"{API}/locations":
            return Reply(200, {"data": "not a list"})
        return super().route(ctx)


def test_panel_unexpected_shape_is_named():
    key = "ptla_" + secrets.token_hex(24)
    with _OddPanel(panel_data(), [key], Knobs()) as emu, pytest.raises(SourceError) as exc:
        collect_pterodactyl(emu.url, key)
    assert str(exc.value).startswith(f"pterodactyl: unexpected response from {API}/locations")
