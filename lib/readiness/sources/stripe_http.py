"""The HTTP client the ``stripe`` library sends through: GET only, counted, retried,
and bounded in wall-clock time.

Every request goes through the shared bounded transport (`_http_common.Sessions`, one
session per thread), so an answer that trickles is cut at min(timeout_s, time budget
left) like any other source's; back-off and rate-limit waits notice an interrupt.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import stripe

from readiness.sources._http_common import (
    Deadline,
    RateLimiter,
    Sessions,
    failure_kind,
    parse_retry_after,
)
from readiness.sources.base import SourceError


class HttpClient(stripe.RequestsClient):
    """Counts requests, applies the timeouts and owns retries (incl. 429 with Retry-After).

    The stable ``stripe`` library never retries 429 by itself, so this client replaces
    its retry loop: connection errors, 409, 429 and 5xx are retried up to
    ``max_retries`` times. It remembers the last path, retry count and failure kind so
    errors can name them.
    """

    def __init__(
        self, timeout_s: float, max_retries: int, deadline: Deadline, limiter: RateLimiter
    ) -> None:
        super().__init__(timeout=timeout_s)
        self.deadline = deadline
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.sessions = Sessions(deadline, timeout_s)
        self.count = 0
        self.throttled = 0
        self._count_lock = threading.Lock()
        self._state = threading.local()  # per thread: lists are pulled concurrently

    @property
    def last_path(self) -> str:
        return getattr(self._state, "path", "")

    @property
    def last_retries(self) -> int:
        return getattr(self._state, "retries", 0)

    @property
    def last_failure(self) -> str:
        return getattr(self._state, "failure", "other")

    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """One request through the bounded transport, failures as the library's own."""
        try:
            resp = self.sessions.get().request(
                method, url, headers=headers, data=post_data, verify=stripe.ca_bundle_path
            )
        except requests.RequestException as exc:
            retry = isinstance(exc, requests.Timeout | requests.ConnectionError) and not (
                isinstance(exc, requests.exceptions.SSLError)
            )
            raise stripe.APIConnectionError(
                "network error talking to the Stripe API", should_retry=retry
            ) from exc
        return resp.content, resp.status_code, resp.headers

    def close(self) -> None:
        self.sessions.close()

    def request_with_retries(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        if method.lower() != "get":
            raise SourceError(f"stripe: refused a {method.upper()} request (read-only source)")
        self._state.path = urlsplit(url).path
        attempt = 0
        while True:
            self.deadline.check(self.last_path)
            self.limiter.acquire(self.deadline, self.last_path)
            with self._count_lock:
                self.count += 1
            self._state.retries = attempt
            try:
                body, status, rheaders = self.request(method, url, headers, post_data)
            except stripe.APIConnectionError as exc:
                self._state.failure = failure_kind(exc.__cause__)
                if not exc.should_retry or attempt >= self.max_retries:
                    raise
                attempt += 1
                self.deadline.wait(attempt, None, self.last_path)
                continue
            if (status in (409, 429) or status >= 500) and attempt < self.max_retries:
                attempt += 1
                retry_after = parse_retry_after(rheaders)
                if status == 429:
                    self.limiter.hold(retry_after)
                    with self._count_lock:
                        self.throttled += 1
                self.deadline.wait(attempt, retry_after, self.last_path)
                continue
            return body, status, rheaders
