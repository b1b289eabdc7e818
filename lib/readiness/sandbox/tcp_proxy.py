"""A loopback TCP proxy in front of the demo Postgres socket, with fault knobs.

The embedded Postgres listens on a Unix socket only; the proxy gives it a 127.0.0.1 port
and can drop the connection after N bytes from the server (a database that goes away in
the middle of a pull), or stall it: forward N bytes, then nothing more while keeping
the connection open (a proxy or middlebox that stops forwarding — TCP keepalives see a
healthy link, so only a client-side deadline ends the wait). The fault matrix thus
exercises real driver behaviour.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass


@dataclass
class ProxyKnobs:
    drop_after_bytes: int | None = None  # server->client bytes before the link is cut
    stall_after_bytes: int | None = None  # server->client bytes, then silence (link kept)


class TcpProxy:
    def __init__(self, unix_socket: str, knobs: ProxyKnobs | None = None) -> None:
        self.target = unix_socket
        self.knobs = knobs or ProxyKnobs()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self.port = 0

    def start(self) -> int:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            drop, stall = self.knobs.drop_after_bytes, self.knobs.stall_after_bytes
            threading.Thread(
                target=self._pipe, args=(client, upstream, None, None), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, drop, stall), daemon=True
            ).start()

    def _pipe(
        self, src: socket.socket, dst: socket.socket, drop: int | None, stall: int | None
    ) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                limit = drop if drop is not None else stall
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    if stall is not None and drop is None:
                        self._hold(src)
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _hold(self, src: socket.socket) -> None:
        """Swallow the server's bytes without forwarding them, until the proxy stops
        (the client's side stays open; it closes everything when it hangs up)."""
        src.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not src.recv(65536):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self._stop.wait()
