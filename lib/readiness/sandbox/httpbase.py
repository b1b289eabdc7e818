"""Shared machinery for the loopback API emulators.

Each emulator is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (free port) run in a
daemon thread. This module owns what both emulators do the same way: recording every
request (with a key *fingerprint*, never the key), the knobs (latency, per-key rate
limit, injected faults) and the request pipeline. Subclasses supply the API's own
auth rules, error envelopes and routes, so the product's real HTTP clients are
exercised against real wire formats.
"""

from __future__ import annotations

import json
import math
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FAULT_KINDS = (
    "status",
    "malformed",
    "slow",
    "drop",
    "endless_pagination",
    "trickle_headers",
    "trickle_body",
)


@dataclass
class Fault:
    """One injected failure, applied to GETs whose path starts with ``path_prefix``.

    kinds:
      - ``status``: answer ``status`` with the API's own error envelope;
      - ``malformed``: answer 200 with a body that is not valid JSON;
      - ``slow``: sleep ``delay_s`` then answer normally (pair with a client timeout);
      - ``drop``: close the connection without answering;
      - ``endless_pagination``: list endpoints always claim there is another page;
      - ``trickle_headers``: the normal answer, status line and headers included, sent
        one byte every ``delay_s`` seconds (each socket read gets a byte in time, so
        only a deadline on the whole answer stops a client);
      - ``trickle_body``: the headers at once, then the body one byte every ``delay_s``.

    ``times`` is how many matching requests the fault affects (None = every one).
    Only the first matching fault with uses left applies to a request. ``kind``
    defaults to ``status`` only because a dataclass field cannot be required after a
    defaulted one; pass it explicitly.
    """

    path_prefix: str = ""
    kind: str = "status"
    status: int = 500
    times: int | None = None
    delay_s: float = 0.0
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.kind.startswith("trickle") and self.delay_s <= 0:
            raise ValueError(f"fault {self.kind} needs delay_s > 0 (seconds between bytes)")

    def exhausted(self) -> bool:
        """True once the fault has affected ``times`` requests."""
        return self.times is not None and self.hits >= self.times


@dataclass
class Knobs:
    """Runtime behaviour of an emulator; mutable while it runs (tests flip faults on/off).

    - ``latency_s``: sleep this long before handling every request;
    - ``rate_limit`` / ``rate_window_s``: at most ``rate_limit`` accepted requests per
      API key in any sliding window of ``rate_window_s`` seconds; beyond that the
      emulator answers 429 with ``Retry-After`` (whole seconds, at least 1) and the
      API's own error body. Rejected requests do not count towards the window.
      ``None`` disables the limit;
    - ``faults``: see :class:`Fault`.
    """

    latency_s: float = 0.0
    rate_limit: int | None = None
    rate_window_s: float = 1.0
    faults: list[Fault] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedRequest:
    """What the emulator saw; ``status`` is 0 when the connection was dropped."""

    method: str
    path: str
    query: dict[str, str | list[str]]
    status: int
    key_fingerprint: str
    at: float


@dataclass
class Reply:
    """A response to write: JSON ``body`` unless ``raw`` bytes are given."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class Context:
    """One request as the routes see it."""

    method: str
    path: str
    pairs: list[tuple[str, str]]
    headers: Any
    key: str | None
    endless: bool = False
    rate_remaining: int | None = None
    trickle: Fault | None = None

    def first(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter (exact name)."""
        for k, v in self.pairs:
            if k == name:
                return v
        return default


def fingerprint(key: str | None) -> str:
    """A recognisable but useless form of a key: its prefix and last four characters."""
    if not key:
        return "-"
    parts = key.split("_")
    prefix = "".join(p + "_" for p in parts[: min(2, len(parts) - 1)])
    return f"{prefix}****{key[-4:]}" if len(key) - len(prefix) > 8 else f"{prefix}****"


def flatten_query(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Query pairs as a dict; repeated names become lists."""
    out: dict[str, str | list[str]] = {}
    for k, v in pairs:
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # Skip HTTPServer's reverse DNS lookup (getfqdn), which can stall on odd hosts.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are expected (slow/drop faults).
        pass


class EmulatorBase:
    """Server lifecycle, recording and the knob pipeline; subclasses add the API."""

    name = "emulator"

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # ends trickled answers when the server stops
        self.url = ""

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> str:
        """Bind a free loopback port, serve in a daemon thread, return the base URL."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _go(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _go

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-{port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorBase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- hooks for subclasses ------------------------------------------------
    def identify(self, headers: Any) -> str | None:
        """The API key the request presents, or None."""
        raise NotImplementedError

    def authorize(self, ctx: Context) -> Reply | None:
        """None when the request may proceed, else the refusal to send."""
        raise NotImplementedError

    def error_reply(self, status: int, message: str, code: str | None = None) -> Reply:
        """The API's error envelope."""
        raise NotImplementedError

    def rate_limited_reply(self, retry_after: int) -> Reply:
        """The API's 429 answer (``Retry-After`` is added by the base)."""
        raise NotImplementedError

    def route(self, ctx: Context) -> Reply:
        """Answer a GET that passed auth, rate limit and faults."""
        raise NotImplementedError

    def decorate(self, reply: Reply, ctx: Context) -> None:
        """Add API-specific headers to every answer."""

    # -- pipeline ------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        key = self.identify(handler.headers)
        ctx = Context(handler.command, split.path, pairs, handler.headers, key)
        if self.knobs.latency_s > 0:
            time.sleep(self.knobs.latency_s)
        try:
            reply = self._pipeline(ctx)
        except Exception as exc:  # an emulator bug must still look like the API
            reply = self.error_reply(500, f"emulator error: {type(exc).__name__}")
        # Record before answering, so a client that got its answer always finds the record.
        rec = RecordedRequest(
            handler.command,
            split.path,
            flatten_query(pairs),
            0 if reply is None else reply.status,
            fingerprint(key),
            time.time(),
        )
        with self._lock:
            self.requests.append(rec)
        if reply is None:
            handler.close_connection = True
            return
        self.decorate(reply, ctx)
        if ctx.trickle is not None:
            self._trickle(handler, reply, ctx.trickle)
        else:
            self._write(handler, reply)

    def _pipeline(self, ctx: Context) -> Reply | None:
        if ctx.method != "GET":
            return self.error_reply(
                405,
                f"This emulator is read-only: {ctx.method} {ctx.path} is not allowed.",
                "method_not_allowed",
            )
        denied = self.authorize(ctx)
        if denied is not None:
            return denied
        limited = self._rate_check(ctx)
        if limited is not None:
            return limited
        fault = self._take_fault(ctx.path)
        if fault is not None:
            if fault.kind == "status":
                return self.error_reply(fault.status, f"Emulated fault: HTTP {fault.status}.")
            if fault.kind == "malformed":
                return Reply(200, raw=b'{"object": "list", "data": [{"id": ')
            if fault.kind == "drop":
                return None
            if fault.kind == "slow":
                time.sleep(fault.delay_s)
            elif fault.kind == "endless_pagination":
                ctx.endless = True
            elif fault.kind.startswith("trickle"):
                ctx.trickle = fault
        return self.route(ctx)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in list(self.knobs.faults):
                if path.startswith(fault.path_prefix) and not fault.exhausted():
                    fault.hits += 1
                    return fault
        return None

    def _rate_check(self, ctx: Context) -> Reply | None:
        limit = self.knobs.rate_limit
        if limit is None:
            return None
        window = self.knobs.rate_window_s
        now = time.monotonic()
        with self._lock:
            hits = self._windows.setdefault(ctx.key or "", deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                retry_after = max(1, math.ceil(hits[0] + window - now))
                ctx.rate_remaining = 0
                reply = self.rate_limited_reply(retry_after)
                reply.headers["Retry-After"] = str(retry_after)
                return reply
            hits.append(now)
            ctx.rate_remaining = limit - len(hits)
        return None

    def _write(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _trickle(self, handler: BaseHTTPRequestHandler, reply: Reply, fault: Fault) -> None:
        """Send `reply` one byte every `fault.delay_s` (headers too for trickle_headers);
        stops when the client hangs up or the emulator stops."""
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        lines = [
            f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            *(f"{name}: {value}" for name, value in reply.headers.items()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        at_once, slow = (b"", head + data) if fault.kind == "trickle_headers" else (head, data)
        handler.close_connection = True
        try:
            handler.wfile.write(at_once)
            for i in range(len(slow)):
                if self._stopping.wait(fault.delay_s):
                    return
                handler.wfile.write(slow[i : i + 1])
        except OSError:  # the client gave up, as it should
            return
