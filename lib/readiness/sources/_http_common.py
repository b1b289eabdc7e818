"""Helpers shared by the HTTP API sources: typed frames, back-off, failure wording."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import requests
from urllib3.exceptions import NewConnectionError

from readiness import redact

# Upper bounds that keep a misbehaving API from hanging or flooding a run.
MAX_PAGES = 10_000
MAX_RETRY_AFTER_S = 60.0
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0

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


class RateLimiter:
    """Client-side pacing shared by a source's threads: at most `per_second` request
    starts per second, so concurrency approaches the API's limit without tripping it;
    and after a 429, every thread holds off until the server's Retry-After has passed
    (instead of each one spending a request to learn the same)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

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
        """Raise SourceError once the budget is spent (called before every request)."""
        from readiness.sources.base import SourceError

        if self.remaining() <= 0:
            raise SourceError(
                f"{self.source}: gave up after {self.seconds:g}s on {what} "
                f"(time budget sources.{self.source}.max_seconds)"
            )

    def wait(self, attempt: int, retry_after: float | None, what: str) -> None:
        """Back off before retry ``attempt``, but never beyond the budget."""
        delay = backoff_s(attempt, retry_after)
        time.sleep(max(0.0, min(delay, self.remaining())))
        self.check(what)


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
