"""Helpers shared by the HTTP API sources: the bounded transport every request goes
through, typed frames, back-off, failure wording."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, wait
from typing import Any, NoReturn, TypeVar

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3 import ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from readiness import redact
from readiness.sources._watchdog import WATCHDOG, Watch
from readiness.sources.base import CANCEL, Cancelled, SourceError, check_cancelled

# Upper bounds that keep a misbehaving API from hanging or flooding a run.
MAX_PAGES = 10_000
MAX_RETRY_AFTER_S = 60.0
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
WAIT_SLICE_S = 0.25  # a thread waiting on others' results looks at CANCEL this often

# Column kinds: pandas nullable dtypes, plus "epoch"/"iso" (-> UTC datetimes) and
# "list" (Python lists in an object column).
Schema = dict[str, str]
_TS = "datetime64[us, UTC]"


def backoff_s(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): the server's hint, else jittered."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER_S)
    delay = min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_CAP_S)
    return delay * (0.5 + random.random() / 2)


def pause(seconds: float, source: str) -> None:
    """Sleep, but wake at once and raise `Cancelled` when the run is interrupted."""
    if seconds > 0:
        CANCEL.wait(seconds)
    check_cancelled(source)


class RateLimiter:
    """Client-side pacing shared by a source's threads: at most `per_second` request
    starts per second, so concurrency approaches the API's limit without tripping it;
    and after a 429, every thread holds off until the server's Retry-After has passed
    (instead of each one spending a request to learn the same)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, deadline: Deadline | None = None, what: str = "") -> None:
        """Wait for this thread's turn; never past `deadline` (then it raises)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            delay = start - now
            if deadline is not None:
                delay = min(delay, max(0.0, deadline.remaining()))
            pause(delay, deadline.source if deadline else "http")
        if deadline is not None:
            deadline.check(what)

    def hold(self, seconds: float | None) -> None:
        """No request starts for `seconds` (a server's Retry-After)."""
        if seconds:
            with self._lock:
                self._next = max(self._next, time.monotonic() + min(seconds, MAX_RETRY_AFTER_S))


class Deadline:
    """A time budget for one source: retries and back-off never run past it, so a faulty
    API (429 storms, slow answers) costs a bounded time and then fails closed."""

    def __init__(self, source: str, seconds: float) -> None:
        self.source = source
        self.seconds = seconds
        self.start = time.monotonic()

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def check(self, what: str) -> None:
        """Raise SourceError once the budget is spent or the run is cancelled (called
        before every request and after every wait)."""
        check_cancelled(self.source)
        if self.remaining() <= 0:
            raise SourceError(
                f"{self.source}: gave up after {self.seconds:g}s on {what} "
                f"(time budget sources.{self.source}.max_seconds)"
            )

    def wait(self, attempt: int, retry_after: float | None, what: str) -> None:
        """Back off before retry ``attempt``, but never beyond the budget."""
        delay = backoff_s(attempt, retry_after)
        pause(max(0.0, min(delay, self.remaining())), self.source)
        self.check(what)


# --- the bounded transport -----------------------------------------------------------
# requests' `timeout` bounds each socket operation, not the answer: a server that sends
# one byte a second keeps a request alive for ever. Every source's requests go through
# `BoundedSession`, which arms a watch (see _watchdog) for min(timeout_s, time budget
# left) and reads the whole body under it. The connections below hand their socket to
# the current thread's watch when it is made (a proxy's CONNECT answer is cut too) and
# again before each response (a kept-alive connection), so slow headers are cut as well
# as a slow body. (Python itself bounds a TLS handshake in total by the socket timeout.)
_current = threading.local()


def _watch_socket(sock: Any) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.attach(sock)


class _Watched:
    """Mixin for urllib3's connections: hand each socket to the thread's current watch."""

    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch_socket(sock)
        return sock

    def getresponse(self) -> Any:
        _watch_socket(self.sock)  # type: ignore[attr-defined]  # kept alive from before
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if isinstance(manager, ProxyManager):  # not SOCKS, which has pools of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager


class ResponseTimeout(requests.exceptions.ReadTimeout):
    """No complete answer within the request's wall-clock bound."""


class BoundedSession(requests.Session):
    """A session whose every request, redirects and body included, is over within
    min(timeout_s, the source's time budget left), or raises `ResponseTimeout`
    (`Cancelled` when the run is interrupted)."""

    def __init__(self, deadline: Deadline, timeout_s: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.timeout_s = timeout_s
        adapter = _WatchedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, **kwargs: Any
    ) -> requests.Response:
        check_cancelled(self.deadline.source)
        budget = min(self.timeout_s, self.deadline.remaining())
        if budget <= 0:
            raise ResponseTimeout("no time left in the budget")
        kwargs["timeout"] = budget  # also bounds connect and each read
        kwargs["stream"] = True  # the body is read below, under the watch
        watch = WATCHDOG.arm(budget)
        _current.watch = watch
        try:
            resp = super().request(method, url, **kwargs)
            resp.content  # noqa: B018 -- read it all while the watch is armed
        except Exception as exc:
            if watch.fired is None:
                raise
            self._raise_fired(watch, exc)
        finally:
            _current.watch = None
            WATCHDOG.disarm(watch)
        if watch.fired is not None:  # a body without a length ends "cleanly" at shutdown
            resp.close()
            self._raise_fired(watch, None)
        return resp

    def _raise_fired(self, watch: Watch, exc: Exception | None) -> NoReturn:
        if watch.fired == "cancel":
            raise Cancelled(f"{self.deadline.source}: stopped (the run was interrupted)") from None
        raise ResponseTimeout(f"no complete answer within {watch.seconds:g}s") from exc


class Sessions:
    """One `BoundedSession` per thread (a Session is not meant to be shared by threads),
    all with the same headers, timeout and time budget."""

    def __init__(
        self, deadline: Deadline, timeout_s: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})
        self._local = threading.local()
        self._all: list[BoundedSession] = []
        self._lock = threading.Lock()

    def get(self) -> BoundedSession:
        session = getattr(self._local, "session", None)
        if session is None:
            session = BoundedSession(self.deadline, self.timeout_s)
            session.headers.update(self.headers)
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()


T = TypeVar("T")
R = TypeVar("R")


def gather(pool: Executor, fn: Callable[[T], R], items: Sequence[T], source: str) -> list[R]:
    """`fn` over `items` on `pool`, results in order. Waits in slices so an interrupt is
    noticed, and on the first failure cancels what has not started and raises it."""
    futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=WAIT_SLICE_S, return_when=FIRST_EXCEPTION)
            check_cancelled(source)
            for fut in done:
                fut.result()  # raises the worker's error
        return [fut.result() for fut in futures]
    finally:
        for fut in futures:
            fut.cancel()


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP date), or None."""
    raw = (headers or {}).get("Retry-After")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def failure_kind(exc: BaseException | None) -> str:
    """Classify a requests failure: ``connect``, ``timeout``, ``dropped`` or ``other``."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return "connect"
        return "dropped"
    return "other"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove secret values, and any credentials inside URLs (requests' messages repeat
    the URL), from a message that will be shown to users."""
    return redact.scrub(text, secrets)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def frame(rows: list[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    """A DataFrame with exactly ``schema``'s columns and dtypes, also when ``rows`` is empty."""
    cols: dict[str, pd.Series] = {}
    for name, kind in schema.items():
        values = [row.get(name) for row in rows]
        if kind == "Int64":
            series = pd.Series([_int(v) for v in values], dtype="Int64")
        elif kind == "boolean":
            series = pd.Series(
                [v if isinstance(v, bool) else None for v in values], dtype="boolean"
            )
        elif kind == "string":
            series = pd.Series([None if v is None else str(v) for v in values], dtype="string")
        elif kind == "epoch":
            secs = pd.Series([_int(v) for v in values], dtype="Int64")
            series = pd.to_datetime(secs, unit="s", utc=True).astype(_TS)
        elif kind == "iso":
            raw = pd.Series([None if v in (None, "") else str(v) for v in values], dtype=object)
            series = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601").astype(_TS)
        elif kind == "list":
            series = pd.Series(
                [list(v) if isinstance(v, list | tuple) else [] for v in values], dtype=object
            )
        else:
            raise ValueError(f"unknown column kind {kind!r} for {name}")
        cols[name] = series
    return pd.DataFrame(cols, columns=list(schema))
