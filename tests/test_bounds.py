"""Every wait is bounded by the wall clock: answers that trickle one byte at a time, servers
that accept a connection and never answer, and an interrupt (base.CANCEL) while a source
waits on any of them. Real sockets on 127.0.0.1 throughout; each collection runs in a
thread so a regression fails the test at its bound instead of hanging the suite."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from test_emulators import panel_data, stripe_data
from trickle_server import TrickleServer, self_signed

from readiness.config import AuditConfig, Secrets
from readiness.sandbox.httpbase import Fault, Knobs
from readiness.sandbox.pterodactyl_emulator import PterodactylEmulator
from readiness.sandbox.stripe_emulator import StripeEmulator
from readiness.sources._http_common import BoundedSession, Deadline, gather
from readiness.sources._watchdog import watching
from readiness.sources.base import CANCEL, Cancelled, SourceError
from readiness.sources.database import collect_database
from readiness.sources.pterodactyl import collect_pterodactyl
from readiness.sources.stripe import collect_stripe
from readiness.sources.supabase_api import collect_supabase_api

STRIPE_KEY = "rk_live_" + secrets.token_hex(12)
PANEL_KEY = "ptla_" + secrets.token_hex(24)
TOKEN_ENV = "TEST_BOUNDS_SUPABASE_TOKEN"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No interrupt leaks between tests; the management API token is a test variable."""
    monkeypatch.setenv(TOKEN_ENV, "sbp_" + secrets.token_hex(20))
    CANCEL.clear()
    yield
    CANCEL.clear()


def bounded(fn: Callable[[], object], limit: float) -> tuple[BaseException | None, float]:
    """Run `fn` in a thread; the test fails if it is still running after `limit` s."""
    out: dict[str, BaseException | None] = {}

    def run() -> None:
        try:
            fn()
            out["exc"] = None
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            out["exc"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit}s: the wait is not bounded"
    return out["exc"], time.monotonic() - start


def collector(source: str, url: str, **kw: float) -> Callable[[], object]:
    if source == "stripe":
        return lambda: collect_stripe(STRIPE_KEY, api_base=url, **kw)
    if source == "pterodactyl":
        return lambda: collect_pterodactyl(url, PANEL_KEY, **kw)
    settings = {"enabled": True, "url": url, "token_env": TOKEN_ENV, "project_ref": "a" * 20}
    cfg = AuditConfig.model_validate({"sources": {"supabase_api": {**settings, **kw}}})
    return lambda: collect_supabase_api(cfg, Secrets())


SOURCES = ["stripe", "pterodactyl", "supabase_api"]


# -- the watchdog itself ---------------------------------------------------------------
def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_watchdog_cuts_a_blocked_read_at_its_deadline_and_owns_only_its_duplicates():
    a, b = socket.socketpair()
    with a, b:
        before = _fds()
        with watching(30) as watch:
            watch.attach(a)
            assert _fds() == before + 1  # its own duplicate, nothing else
            b.sendall(b"x")
            assert a.recv(1) == b"x"  # an armed watch does not disturb the socket
        assert watch.fired is None and _fds() == before
        b.sendall(b"y")
        assert a.recv(1) == b"y"  # disarming left the owner's socket open

        start = time.monotonic()
        with watching(0.5) as watch:
            watch.attach(a)
            assert a.recv(1) == b""  # blocked until the watchdog shut the socket down
        assert watch.fired == "deadline"
        assert 0.4 < time.monotonic() - start < 5
        assert _fds() == before


def test_watchdog_fires_on_cancel():
    a, b = socket.socketpair()
    with a, b, watching(60) as watch:
        watch.attach(a)
        threading.Timer(0.3, CANCEL.set).start()
        start = time.monotonic()
        assert a.recv(1) == b""
        assert time.monotonic() - start < 3
    assert watch.fired == "cancel"


def test_gather_notices_cancel_while_workers_wait():
    release = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        threading.Timer(0.3, CANCEL.set).start()
        exc, seconds = bounded(lambda: gather(pool, release.wait, [30, 30, 30], "test"), 10)
        release.set()
    assert isinstance(exc, Cancelled) and seconds < 3


# -- HTTP: trickled answers ------------------------------------------------------------
@pytest.mark.parametrize("mode", ["headers", "body"])
@pytest.mark.parametrize("source", SOURCES)
def test_a_trickled_answer_is_abandoned_at_the_request_timeout(source, mode):
    """One byte every 0.2 s beats any per-read timeout; the request timeout (1 s) is a
    bound on the whole answer, so the source fails closed in seconds."""
    with TrickleServer(mode, interval_s=0.2) as server:
        fn = collector(source, server.url, timeout_s=1, max_retries=1, max_seconds=4)
        exc, seconds = bounded(fn, 20)
    assert isinstance(exc, SourceError) and not isinstance(exc, Cancelled), exc
    reason = str(exc)
    assert reason.startswith(f"{source}:"), reason
    assert "timed out" in reason or "gave up" in reason, reason
    assert seconds < 20 and server.requests <= 3


@pytest.mark.parametrize("source", SOURCES)
def test_a_trickled_answer_is_cut_by_the_source_time_budget(source):
    """A generous request timeout does not let a trickle outlive max_seconds."""
    with TrickleServer("body", interval_s=0.2) as server:
        fn = collector(source, server.url, timeout_s=60, max_retries=3, max_seconds=2)
        exc, seconds = bounded(fn, 15)
    assert isinstance(exc, SourceError), exc
    assert "gave up after 2s" in str(exc) and "max_seconds" in str(exc), exc
    assert seconds < 15


# -- HTTP: interrupts ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["headers", "body"])
@pytest.mark.parametrize("source", SOURCES)
def test_cancel_stops_a_source_waiting_on_a_slow_server(source, mode):
    with TrickleServer(mode, interval_s=0.2) as server:
        fn = collector(source, server.url, timeout_s=60, max_retries=3, max_seconds=120)
        threading.Timer(1.0, CANCEL.set).start()
        exc, seconds = bounded(fn, 15)
    assert isinstance(exc, Cancelled), exc
    assert str(exc).startswith(f"{source}: stopped") and seconds < 1.0 + 3


def test_cancel_interrupts_a_retry_after_hold():
    """A 429 storm answers Retry-After ~60 s; an interrupt ends the hold at once."""
    with PterodactylEmulator(
        panel_data(), [PANEL_KEY], Knobs(rate_limit=1, rate_window_s=60)
    ) as emu:
        fn = collector("pterodactyl", emu.url, timeout_s=5, max_retries=5, max_seconds=300)
        threading.Timer(1.0, CANCEL.set).start()
        exc, seconds = bounded(fn, 15)
    assert isinstance(exc, Cancelled), exc
    assert seconds < 1.0 + 3
    assert 429 in [r.status for r in emu.requests]  # it really was holding for a 429


# -- database: a server that accepts and never answers ---------------------------------
def test_database_connect_to_a_silent_server_ends_at_connect_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts; nobody ever answers
        port = listener.getsockname()[1]
        dsn = f"postgresql://auditor@127.0.0.1:{port}/postgres"
        exc, seconds = bounded(
            lambda: collect_database(dsn, connect_timeout_s=2, max_seconds=60), 30
        )
    assert isinstance(exc, SourceError), exc
    assert str(exc).startswith("database:") and "timeout" in str(exc), exc
    assert seconds < 2 + 8


# -- HTTPS: the same bound through TLS, the handshake included ---------------------------
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("mode", ["handshake", "headers", "body"])
def test_the_bounded_transport_cuts_a_trickle_over_tls(tmp_path, mode):
    """The shared transport (what every source sends through) over real TLS: a trickled
    handshake, headers or body is cut at the request timeout; a normal answer still
    arrives through the same session."""
    ctx, cert = self_signed(tmp_path)
    session = BoundedSession(Deadline("test", 30), timeout_s=1)
    with session, TrickleServer(mode, interval_s=0.2, tls=ctx) as server:
        exc, seconds = bounded(lambda: session.get(server.url + "/v1", verify=str(cert)), 15)
    assert isinstance(exc, requests.Timeout), exc
    # the watchdog cuts the trickle at 1s; on a loaded machine a single gap between
    # trickled bytes can pass the 1s socket timeout first: either way it is cut, bounded
    said = str(exc)
    assert "no complete answer within 1s" in said or "timed out" in said, said
    assert seconds < 10
    with BoundedSession(Deadline("test", 30), 1) as ok, TrickleServer("body", 0, tls=ctx) as fast:
        resp = ok.get(fast.url + "/v1", verify=str(cert))
    assert resp.status_code == 200 and resp.json()["object"] == "list"


@pytest.mark.parametrize("kind", ["trickle_headers", "trickle_body"])
def test_a_trickle_on_a_kept_alive_connection_is_cut_too(kind):
    """The account answers normally, then the prices list trickles on the same (kept
    alive) connection: the bound holds there as on a fresh one."""
    knobs = Knobs(faults=[Fault("/v1/prices", kind, delay_s=0.2)])
    with StripeEmulator(stripe_data(n_prices=5), {STRIPE_KEY: "live"}, knobs) as emu:
        fn = collector("stripe", emu.url, timeout_s=1, max_retries=1, max_seconds=30)
        exc, seconds = bounded(fn, 20)
    assert isinstance(exc, SourceError), exc
    assert str(exc).startswith("stripe: timed out after 1s on /v1/prices"), exc
    assert [r.path for r in emu.requests][:2] == ["/v1/account", "/v1/prices"]
