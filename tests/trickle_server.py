"""A hostile HTTP server for tests: it answers every request, but one byte at a time.

Two modes: ``headers`` trickles the status line and headers themselves; ``body`` sends
the headers at once and then trickles the body. Either way every single socket read on
the client gets a byte well within any per-read timeout, so only a deadline on the
whole response can stop the client. Binds 127.0.0.1 only; handler threads stop when the
client goes away, when the server is stopped, or after `lifetime_s` (it stops by itself).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time

BODY = b'{"object": "list", "data": [], "has_more": false, "meta": {}}' + b" " * 4000


class TrickleServer:
    def __init__(self, mode: str, interval_s: float = 0.2, lifetime_s: float = 120.0) -> None:
        if mode not in ("headers", "body"):
            raise ValueError(mode)
        self.mode = mode
        self.interval_s = interval_s
        self.lifetime_s = lifetime_s
        self.requests = 0
        self._stop = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None
        self.url = ""

    def _answer(self) -> tuple[bytes, bytes]:
        """(sent at once, trickled) for one request."""
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + b"X-Padding: "
            + b"p" * 4000
            + b"\r\nContent-Length: "
            + str(len(BODY)).encode()
            + b"\r\n\r\n"
        )
        if self.mode == "headers":
            return b"", head + BODY
        return head, BODY

    def start(self) -> str:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(5)
                data = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in data:
                        chunk = sock.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                owner.requests += 1
                now, trickled = owner._answer()
                ends = time.monotonic() + owner.lifetime_s
                try:
                    sock.sendall(now)
                    for i in range(len(trickled)):
                        if owner._stop.wait(owner.interval_s) or time.monotonic() > ends:
                            return
                        sock.sendall(trickled[i : i + 1])
                except OSError:  # the client gave up: exactly what the tests want
                    return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        timer = threading.Timer(self.lifetime_s, self.stop)
        timer.daemon = True
        timer.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> TrickleServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
