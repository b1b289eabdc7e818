"""A hostile HTTP server for tests: it answers every request, but one byte at a time.

Modes: ``headers`` trickles the status line and headers themselves; ``body`` sends the
headers at once and then trickles the body; with TLS (`tls`, a server SSLContext) also
``handshake``, which trickles the server's side of the TLS handshake. Every single
socket read on the client gets a byte well within any per-read timeout, so only a
deadline on the whole response can stop the client. Binds 127.0.0.1 only; handler
threads stop when the client goes away, when the server is stopped, or after
`lifetime_s` (it stops by itself).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from pathlib import Path

BODY = b'{"object": "list", "data": [], "has_more": false, "meta": {}}' + b" " * 4000


class TrickleServer:
    def __init__(
        self,
        mode: str,
        interval_s: float = 0.2,
        lifetime_s: float = 120.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if mode not in ("headers", "body", "handshake") or (mode == "handshake" and not tls):
            raise ValueError(mode)
        self.mode = mode
        self.tls = tls
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

    def _trickle_handshake(self, sock: socket.socket) -> None:
        """A real TLS handshake whose server side goes out one byte at a time."""
        assert self.tls is not None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.tls.wrap_bio(incoming, outgoing, server_side=True)
        ends = time.monotonic() + self.lifetime_s
        try:
            while time.monotonic() < ends:
                try:
                    tls.do_handshake()
                    return
                except ssl.SSLWantReadError:
                    pass
                for byte in outgoing.read():
                    if self._stop.wait(self.interval_s):
                        return
                    sock.sendall(bytes([byte]))
                data = sock.recv(65536)
                if not data:
                    return
                incoming.write(data)
        except (OSError, ssl.SSLError):
            return

    def start(self) -> str:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(5)
                if owner.tls is not None:
                    if owner.mode == "handshake":
                        owner._trickle_handshake(sock)
                        return
                    try:
                        sock = owner.tls.wrap_socket(sock, server_side=True)
                    except OSError:
                        return
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
                    if owner.interval_s <= 0:  # a well-behaved server, for comparison
                        sock.sendall(trickled)
                        return
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
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
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


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 with a throwaway self-signed certificate (made by
    the openssl command), and the certificate file a client can trust."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx, cert
