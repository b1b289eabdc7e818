"""The Stripe and Pterodactyl emulators, driven over loopback by the real clients."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import requests
import stripe

from readiness.sandbox.httpbase import Fault
from readiness.sandbox.pterodactyl_emulator import ENDLESS_PAGES, PterodactylEmulator
from readiness.sandbox.stripe_emulator import StripeEmulator

T0 = 1_760_000_000
DAY = 86_400


# -- tiny dataset builders -----------------------------------------------------------
def _price(i: int, live: bool, product: str, active: bool = True) -> dict[str, Any]:
    tag = "L" if live else "T"
    return {
        "id": f"price_{tag}{i:04d}",
        "object": "price",
        "active": active,
        "livemode": live,
        "currency": "usd",
        "unit_amount": 500 + i,
        "type": "recurring",
        "recurring": {"interval": "month", "interval_count": 1},
        "product": product,
        "lookup_key": None,
        "nickname": None,
        "metadata": {},
        "created": T0 - i * 60,
    }


def _product(pid: str, live: bool, active: bool = True) -> dict[str, Any]:
    return {
        "id": pid,
        "object": "product",
        "active": active,
        "name": f"Plan {pid}",
        "livemode": live,
        "default_price": None,
        "metadata": {},
        "created": T0 - DAY,
    }


def stripe_data(n_prices: int = 25) -> dict[str, Any]:
    """Live: ``n_prices`` prices over two products, events, sessions, subscriptions."""
    live = {
        "products": [_product("prod_L1", True), _product("prod_L2", True, active=False)],
        "prices": [
            _price(i, True, "prod_L1" if i % 2 else "prod_L2", active=i % 5 != 0)
            for i in range(n_prices)
        ],
        "events": [
            {
                "id": f"evt_{i:03d}",
                "object": "event",
                "type": t,
                "livemode": True,
                "created": T0 - i * DAY,
                "pending_webhooks": i % 2,
                "data": {"object": {"id": f"cs_{i:03d}"}},
            }
            for i, t in enumerate(
                ["checkout.session.completed", "invoice.paid", "customer.subscription.updated"] * 4
            )
        ],
        "subscriptions": [
            {
                "id": f"sub_{i}",
                "object": "subscription",
                "status": s,
                "customer": "cus_1",
                "livemode": True,
                "created": T0 - i,
                "cancel_at_period_end": False,
                "metadata": {"order_id": str(i)},
                "items": {"object": "list", "data": [{"price": {"id": "price_L0001"}}]},
            }
            for i, s in enumerate(["active", "canceled", "past_due", "active"])
        ],
        "checkout_sessions": [
            {
                "id": f"cs_{i:03d}",
                "object": "checkout.session",
                "mode": "subscription",
                "status": "complete",
                "payment_status": "paid",
                "subscription": f"sub_{i}",
                "customer": "cus_1",
                "livemode": True,
                "created": T0 - i * DAY,
                "metadata": {"b": "2", "a": "1"},
                "success_url": "https://x.example/ok",
                "cancel_url": "https://x.example/no",
            }
            for i in range(4)
        ],
        "webhook_endpoints": [
            {
                "id": "we_1",
                "object": "webhook_endpoint",
                "url": "https://x.example/functions/v1/stripe-webhook",
                "status": "enabled",
                "enabled_events": ["*"],
                "api_version": None,
                "livemode": True,
                "created": T0,
            }
        ],
        "customers": [
            {
                "id": "cus_1",
                "object": "customer",
                "email": "a@x.example",
                "livemode": True,
                "created": T0,
            }
        ],
    }
    test = {
        "products": [_product("prod_T1", False)],
        "prices": [_price(i, False, "prod_T1") for i in range(3)],
    }
    return {
        "account": {
            "id": "acct_1",
            "object": "account",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "country": "US",
            "default_currency": "usd",
        },
        "live": live,
        "test": test,
    }


def panel_data(n_servers: int = 7) -> dict[str, Any]:
    """Two nodes, one nest with two eggs, ``n_servers`` servers and their users."""
    ts = "2025-01-01T00:00:00+00:00"
    nodes = [
        {
            "id": i,
            "uuid": f"node-{i}",
            "public": True,
            "name": f"node{i}",
            "description": None,
            "location_id": 1,
            "fqdn": f"n{i}.x.example",
            "scheme": "https",
            "maintenance_mode": i == 2,
            "memory": 65536,
            "memory_overallocate": 0,
            "disk": 500000,
            "disk_overallocate": 0,
            "upload_size": 100,
            "daemon_listen": 8080,
            "daemon_sftp": 2022,
            "created_at": ts,
            "updated_at": ts,
        }
        for i in (1, 2)
    ]
    variables = [
        {
            "name": "Version",
            "env_variable": "MC_VERSION",
            "default_value": "latest",
            "user_viewable": True,
            "user_editable": True,
            "rules": "required|string|max:20",
        },
        {
            "name": "Build",
            "env_variable": "BUILD",
            "default_value": "",
            "user_viewable": True,
            "user_editable": False,
            "rules": "nullable|string",
        },
    ]
    eggs = [
        {
            "id": e,
            "uuid": f"egg-{e}",
            "name": f"Egg {e}",
            "nest": 1,
            "author": "a@x.example",
            "description": "",
            "docker_image": "ghcr.io/x/java:21",
            "docker_images": {"Java 21": "ghcr.io/x/java:21", "Java 17": "ghcr.io/x/java:17"},
            "startup": "java -jar server.jar",
            "created_at": ts,
            "updated_at": ts,
            "variables": variables,
        }
        for e in (5, 6)
    ]
    servers = [
        {
            "id": s,
            "external_id": f"order-{s}",
            "uuid": f"srv-{s}",
            "identifier": f"s{s:07d}",
            "name": f"server {s}",
            "description": "",
            "status": None,
            "suspended": False,
            "limits": {
                "memory": 1024 * s,
                "swap": 0,
                "disk": 5000,
                "io": 500,
                "cpu": 100,
                "threads": None,
                "oom_disabled": True,
            },
            "feature_limits": {"databases": 0, "allocations": 1, "backups": 1},
            "user": s,
            "node": 1 if s % 2 else 2,
            "allocation": 100 + s,
            "nest": 1,
            "egg": 5 if s % 2 else 6,
            "container": {
                "startup_command": "java",
                "image": "ghcr.io/x/java:21",
                "installed": 1,
                "environment": {"MC_VERSION": "1.21"},
            },
            "created_at": ts,
            "updated_at": ts,
        }
        for s in range(1, n_servers + 1)
    ]
    users = [
        {
            "id": s,
            "external_id": f"user-{s}",
            "uuid": f"usr-{s}",
            "username": f"u{s}",
            "email": f"u{s}@x.example",
            "first_name": "A",
            "last_name": "B",
            "language": "en",
            "root_admin": False,
            "2fa": False,
            "created_at": ts,
            "updated_at": ts,
        }
        for s in range(1, n_servers + 1)
    ]
    allocations = {
        1: [
            {
                "id": 100 + a,
                "ip": "10.0.0.1",
                "alias": None,
                "port": 25565 + a,
                "notes": None,
                "assigned": a <= 3,
            }
            for a in range(1, 6)
        ],
        2: [],
    }
    return {
        "locations": [
            {"id": 1, "short": "eu", "long": "Europe", "created_at": ts, "updated_at": ts}
        ],
        "nodes": nodes,
        "allocations": allocations,
        "nests": [
            {
                "id": 1,
                "uuid": "nest-1",
                "author": "a@x.example",
                "name": "Minecraft",
                "description": "",
                "created_at": ts,
                "updated_at": ts,
            }
        ],
        "eggs": {1: eggs},
        "servers": servers,
        "users": users,
    }


def live_key() -> str:
    return "sk_live_" + secrets.token_hex(12)


def sandbox_test_key() -> str:
    return "sk_test_" + secrets.token_hex(12)


@pytest.fixture
def stripe_emu():
    keys = {live_key(): "live", sandbox_test_key(): "test"}
    with StripeEmulator(stripe_data(), keys) as emu:
        emu.live_key, emu.test_key = list(keys)  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def panel_emu():
    key = "ptla_" + secrets.token_hex(24)
    with PterodactylEmulator(panel_data(), [key]) as emu:
        emu.key = key  # type: ignore[attr-defined]
        yield emu


def _client(emu: StripeEmulator, key: str) -> stripe.StripeClient:
    stripe.enable_telemetry = False
    return stripe.StripeClient(key, base_addresses={"api": emu.url})


def _sget(emu: StripeEmulator, path: str, key: str | None = None, **params: Any):
    key = emu.live_key if key is None else key  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {key}"}
    return requests.get(emu.url + path, params=params, headers=headers, timeout=5)


def _pget(emu: PterodactylEmulator, path: str, key: str | None = None, **params: Any):
    key = emu.key if key is None else key  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    return requests.get(
        f"{emu.url}/api/application{path}", params=params, headers=headers, timeout=5
    )


# -- Stripe ------------------------------------------------------------------------------
def test_stripe_auto_paging_returns_whole_dataset_newest_first(stripe_emu):
    client = _client(stripe_emu, stripe_emu.live_key)
    got = [p.id for p in client.v1.prices.list({"limit": 7}).auto_paging_iter()]
    expected = [
        p["id"] for p in sorted(stripe_data()["live"]["prices"], key=lambda p: -p["created"])
    ]
    assert got == expected and len(got) == 25
    listed = [r for r in stripe_emu.requests if r.path == "/v1/prices"]
    assert len(listed) == 4 and listed[1].query["starting_after"] == got[6]


def test_stripe_cursors_both_directions_and_unknown_cursor(stripe_emu):
    first = _sget(stripe_emu, "/v1/prices", limit=5).json()
    second = _sget(stripe_emu, "/v1/prices", limit=5, starting_after=first["data"][-1]["id"]).json()
    back = _sget(stripe_emu, "/v1/prices", limit=5, ending_before=second["data"][0]["id"]).json()
    assert [p["id"] for p in back["data"]] == [p["id"] for p in first["data"]]
    assert first["has_more"] and first["url"] == "/v1/prices" and first["object"] == "list"
    bad = _sget(stripe_emu, "/v1/prices", starting_after="price_nope")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "resource_missing"
    assert bad.json()["error"]["param"] == "starting_after"


def test_stripe_limit_bounds(stripe_emu):
    client = _client(stripe_emu, stripe_emu.live_key)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.list({"limit": 101})
    assert exc.value.param == "limit" and exc.value.http_status == 400
    assert len(client.v1.prices.list().data) == 10  # default limit


def test_stripe_created_and_resource_filters(stripe_emu):
    client = _client(stripe_emu, stripe_emu.live_key)
    recent = client.v1.events.list({"created": {"gte": T0 - 3 * DAY}, "limit": 100})
    assert [e.id for e in recent.data] == ["evt_000", "evt_001", "evt_002", "evt_003"]
    older = client.v1.events.list({"created": {"lt": T0 - 10 * DAY}})
    assert [e.id for e in older.data] == ["evt_011"]
    paid = client.v1.events.list({"type": "invoice.paid", "limit": 100})
    assert {e.type for e in paid.data} == {"invoice.paid"} and len(paid.data) == 4
    several = client.v1.events.list(
        {"types": ["invoice.paid", "customer.subscription.updated"], "limit": 100}
    )
    assert len(several.data) == 8
    inactive = client.v1.prices.list({"active": False, "limit": 100})
    assert len(inactive.data) == 5 and not any(p.active for p in inactive.data)
    assert len(client.v1.subscriptions.list().data) == 3  # canceled hidden by default
    assert len(client.v1.subscriptions.list({"status": "all"}).data) == 4
    by_sub = client.v1.checkout.sessions.list({"subscription": "sub_2"})
    assert [s.id for s in by_sub.data] == ["cs_002"]


def test_stripe_expand_product_on_list_and_single(stripe_emu):
    client = _client(stripe_emu, stripe_emu.live_key)
    page = client.v1.prices.list({"limit": 3, "expand": ["data.product"]})
    assert all(isinstance(p.product, stripe.Product) for p in page.data)
    single = client.v1.prices.retrieve("price_L0001", {"expand": ["product"]})
    assert single.product.id == "prod_L1" and single.product.name == "Plan prod_L1"
    plain = client.v1.prices.retrieve("price_L0001")
    assert plain.product == "prod_L1"
    raw = _sget(stripe_emu, "/v1/prices/price_L0002", **{"expand[]": "product"}).json()
    assert raw["product"]["object"] == "product"


def test_stripe_live_key_cannot_see_test_objects(stripe_emu):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _client(stripe_emu, stripe_emu.live_key).v1.prices.retrieve("price_T0001")
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    test_price = _client(stripe_emu, stripe_emu.test_key).v1.prices.retrieve("price_T0001")
    assert test_price.livemode is False


def test_stripe_auth_bearer_basic_and_401_shape(stripe_emu):
    wrong = "sk_live_" + secrets.token_hex(12)
    resp = _sget(stripe_emu, "/v1/account", key=wrong)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["message"] == f"Invalid API Key provided: sk_live_****{wrong[-4:]}"
    assert wrong not in resp.text
    basic = requests.get(stripe_emu.url + "/v1/account", auth=(stripe_emu.live_key, ""), timeout=5)
    assert basic.status_code == 200 and basic.json()["id"] == "acct_1"
    assert basic.headers["Request-Id"].startswith("req_")
    assert basic.headers["Content-Type"] == "application/json"
    assert requests.get(stripe_emu.url + "/v1/account", timeout=5).status_code == 401
    with pytest.raises(stripe.AuthenticationError):
        _client(stripe_emu, wrong).v1.accounts.retrieve_current()
    assert all(
        wrong not in repr(r) and stripe_emu.live_key not in repr(r) for r in stripe_emu.requests
    )


def test_stripe_unknown_route_and_non_get(stripe_emu):
    assert _sget(stripe_emu, "/v1/charges").status_code == 404
    resp = requests.post(
        stripe_emu.url + "/v1/prices",
        data={"unit_amount": 1},
        timeout=5,
        headers={"Authorization": f"Bearer {stripe_emu.live_key}"},
    )
    assert resp.status_code == 405 and resp.json()["error"]["type"] == "invalid_request_error"
    assert [(r.method, r.status) for r in stripe_emu.requests][-1] == ("POST", 405)


def test_stripe_rate_limit_answers_429_with_retry_after(stripe_emu):
    stripe_emu.knobs.rate_limit, stripe_emu.knobs.rate_window_s = 2, 0.5
    codes = [_sget(stripe_emu, "/v1/account") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].headers["Retry-After"] == "1"
    assert codes[2].json()["error"]["code"] == "rate_limit"
    other_key = _sget(stripe_emu, "/v1/prices/price_T0001", key=stripe_emu.test_key)
    assert other_key.status_code == 200  # the limit is per key
    time.sleep(0.55)
    assert _sget(stripe_emu, "/v1/account").status_code == 200


def test_stripe_fault_kinds(stripe_emu):
    faults = stripe_emu.knobs.faults
    faults.append(Fault("/v1/prices", "status", status=503, times=1))
    first, second = _sget(stripe_emu, "/v1/prices"), _sget(stripe_emu, "/v1/prices")
    assert first.status_code == 503 and first.json()["error"]["type"] == "api_error"
    assert second.status_code == 200
    faults[:] = [Fault("/v1/prices", "malformed", times=1)]
    bad = _sget(stripe_emu, "/v1/prices")
    assert bad.status_code == 200
    with pytest.raises(ValueError):
        bad.json()
    faults[:] = [Fault("/v1/account", "drop", times=1)]
    with pytest.raises(requests.ConnectionError):
        _sget(stripe_emu, "/v1/account")
    assert stripe_emu.requests[-1].status == 0
    faults[:] = [Fault("/v1/account", "slow", delay_s=0.3, times=1)]
    started = time.monotonic()
    assert _sget(stripe_emu, "/v1/account").status_code == 200
    assert time.monotonic() - started >= 0.3
    faults[:] = [Fault("/v1/prices", "endless_pagination")]
    page = _sget(stripe_emu, "/v1/prices", limit=100).json()
    again = _sget(stripe_emu, "/v1/prices", limit=100, starting_after=page["data"][-1]["id"]).json()
    assert page["has_more"] and again["has_more"] and again["data"] == page["data"]
    with pytest.raises(ValueError):
        Fault("/v1", "explode")


# -- Pterodactyl ---------------------------------------------------------------------
def test_panel_pagination_envelope_and_links(panel_emu):
    first = _pget(panel_emu, "/servers", per_page=3).json()
    pag = first["meta"]["pagination"]
    assert first["object"] == "list" and first["data"][0]["object"] == "server"
    assert (
        pag["total"],
        pag["count"],
        pag["per_page"],
        pag["current_page"],
        pag["total_pages"],
    ) == (7, 3, 3, 1, 3)
    assert "previous" not in pag["links"]
    ids: list[int] = []
    url: str | None = f"{panel_emu.url}/api/application/servers?per_page=3"
    while url:
        body = requests.get(
            url,
            timeout=5,
            headers={"Authorization": f"Bearer {panel_emu.key}", "Accept": "application/json"},
        ).json()
        ids += [s["attributes"]["id"] for s in body["data"]]
        url = body["meta"]["pagination"]["links"].get("next")
    assert ids == list(range(1, 8))
    last = _pget(panel_emu, "/servers", per_page=3, page=3).json()["meta"]["pagination"]
    assert (
        last["count"] == 1 and "next" not in last["links"] and "page=2" in last["links"]["previous"]
    )
    assert _pget(panel_emu, "/locations").json()["meta"]["pagination"]["links"] == {}
    assert _pget(panel_emu, "/servers").json()["meta"]["pagination"]["per_page"] == 50


def test_panel_includes_and_allocated_resources(panel_emu):
    nodes = _pget(panel_emu, "/nodes", include="allocations,location,servers").json()["data"]
    node1 = nodes[0]["attributes"]
    assert node1["allocated_resources"] == {"memory": 1024 * (1 + 3 + 5 + 7), "disk": 20000}
    rel = node1["relationships"]
    assert rel["allocations"]["object"] == "list" and len(rel["allocations"]["data"]) == 5
    assert rel["location"]["object"] == "location"
    assert rel["location"]["attributes"]["short"] == "eu"
    assert {s["attributes"]["id"] for s in rel["servers"]["data"]} == {1, 3, 5, 7}
    assert "relationships" not in _pget(panel_emu, "/nodes/1").json()["attributes"]
    eggs = _pget(panel_emu, "/nests/1/eggs", include="variables").json()["data"]
    variables = eggs[0]["attributes"]["relationships"]["variables"]
    assert variables["object"] == "list"
    assert variables["data"][0]["object"] == "egg_variable"
    assert variables["data"][0]["attributes"]["env_variable"] == "MC_VERSION"
    assert "variables" not in eggs[0]["attributes"]
    egg = _pget(panel_emu, "/nests/1/eggs/6").json()
    assert egg["object"] == "egg" and egg["attributes"]["id"] == 6
    server = _pget(panel_emu, "/servers/2", include="egg,node,user").json()["attributes"]
    assert server["relationships"]["egg"]["attributes"]["id"] == 6
    assert server["relationships"]["node"]["object"] == "node"
    assert server["relationships"]["user"]["attributes"]["email"] == "u2@x.example"
    allocs = _pget(panel_emu, "/nodes/1/allocations", per_page=2).json()
    assert allocs["meta"]["pagination"]["total_pages"] == 3


def test_panel_lookups_filters_and_404(panel_emu):
    assert _pget(panel_emu, "/servers/external/order-3").json()["attributes"]["id"] == 3
    assert _pget(panel_emu, "/users/external/user-4").json()["attributes"]["id"] == 4
    found = _pget(panel_emu, "/users", **{"filter[email]": "u5@x.example"}).json()["data"]
    assert [u["attributes"]["id"] for u in found] == [5]
    by_ext = _pget(panel_emu, "/servers", **{"filter[external_id]": "order-6"}).json()["data"]
    assert [s["attributes"]["id"] for s in by_ext] == [6]
    missing = _pget(panel_emu, "/servers/99")
    assert missing.status_code == 404
    assert missing.json() == {
        "errors": [
            {
                "code": "NotFoundHttpException",
                "status": "404",
                "detail": "The requested resource could not be found on the server.",
            }
        ]
    }
    assert _pget(panel_emu, "/servers/external/nope").status_code == 404
    assert _pget(panel_emu, "/nests/1/eggs/99").status_code == 404
    assert _pget(panel_emu, "/servers", **{"filter[bogus]": "x"}).status_code == 400


def test_panel_auth_accept_and_non_get(panel_emu):
    for key in ("ptla_" + secrets.token_hex(24), ""):
        resp = _pget(panel_emu, "/nodes", key=key)
        assert resp.status_code == 401
        assert resp.json()["errors"][0] == {
            "code": "AuthenticationException",
            "status": "401",
            "detail": "Unauthenticated.",
        }
    no_accept = requests.get(
        f"{panel_emu.url}/api/application/nodes",
        timeout=5,
        headers={"Authorization": f"Bearer {panel_emu.key}"},
    )
    assert no_accept.status_code == 406 and no_accept.json()["errors"][0]["status"] == "406"
    deleted = requests.delete(
        f"{panel_emu.url}/api/application/servers/1",
        timeout=5,
        headers={"Authorization": f"Bearer {panel_emu.key}", "Accept": "application/json"},
    )
    assert deleted.status_code == 405
    assert panel_emu.requests[-1].method == "DELETE"
    assert all(panel_emu.key not in repr(r) for r in panel_emu.requests)
    assert panel_emu.requests[0].key_fingerprint.startswith("ptla_****")


def test_panel_rate_limit_and_endless(panel_emu):
    panel_emu.knobs.rate_limit, panel_emu.knobs.rate_window_s = 2, 0.5
    codes = [_pget(panel_emu, "/locations") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[0].headers["X-RateLimit-Limit"] == "2"
    assert codes[0].headers["X-RateLimit-Remaining"] == "1"
    assert codes[2].headers["Retry-After"] == "1"
    assert codes[2].json()["errors"][0] == {
        "code": "TooManyRequestsHttpException",
        "status": "429",
        "detail": "Too Many Attempts.",
    }
    panel_emu.knobs.rate_limit = None
    panel_emu.knobs.faults.append(Fault("/api/application/users", "endless_pagination"))
    pag = _pget(panel_emu, "/users", per_page=100).json()["meta"]["pagination"]
    assert pag["total_pages"] == ENDLESS_PAGES
    assert "page=1" in pag["links"]["next"] and pag["current_page"] == 1
