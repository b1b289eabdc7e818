"""Wall-clock deadlines on blocking socket I/O, enforced from outside the blocked thread.

A per-read socket timeout cannot bound an answer that trickles (every read gets a byte
in time), and libpq waits for ever on a link that a proxy keeps alive. The one robust
bound is external: a `Watch` holds the sockets of one request or one database session,
and when its deadline passes, or the run is cancelled (`base.CANCEL`), one background
thread shuts those sockets down. The blocked read then returns at once (EOF / reset), the
client library raises, and the caller turns that into a `SourceError` with the reason.

The watch keeps its own duplicate of each file descriptor, so a shutdown never lands on
a descriptor number the owner has since closed and the system reused for another file;
the duplicates are closed on `disarm`. Shutdown (not close) is what wakes the reader.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

from readiness.sources.base import CANCEL

TICK_S = 0.2  # how often an armed watchdog looks at CANCEL (and its nearest deadline)


class Watch:
    """The sockets of one bounded operation and when it must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = max(0.0, seconds)
        self.end = time.monotonic() + self.seconds
        self.fired: str | None = None  # "deadline" or "cancel" once it went off
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | int) -> None:
        """Watch a socket (or a raw descriptor); a no-op for a closed one."""
        fd = sock if isinstance(sock, int) else sock.fileno()
        if fd < 0:
            return
        try:
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        with self._lock:
            self._socks.append(dup)
            fired = self.fired is not None
        if fired:
            _shutdown(dup)

    def fire(self, why: str) -> None:
        with self._lock:
            if self.fired is not None:
                return
            self.fired = why
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)

    def release(self) -> None:
        """Close the watch's duplicates (the owner's own descriptors stay open)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for sock in socks:
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One daemon thread for every armed watch in the process; idle (no wake-ups) when
    nothing is armed."""

    def __init__(self) -> None:
        self._armed: set[Watch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> Watch:
        watch = Watch(seconds)
        with self._cond:
            self._armed.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="readiness-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return watch

    def disarm(self, watch: Watch) -> str | None:
        """Stop watching; returns why the watch fired, or None if it did not."""
        with self._cond:
            self._armed.discard(watch)
        watch.release()
        return watch.fired

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._armed:
                    self._cond.wait()
                now = time.monotonic()
                cancel = CANCEL.is_set()
                due = [w for w in self._armed if cancel or w.end <= now]
                self._armed.difference_update(due)
                nearest = min((w.end for w in self._armed), default=now + TICK_S)
            for watch in due:
                watch.fire("cancel" if cancel else "deadline")
            with self._cond:
                self._cond.wait(min(TICK_S, max(0.0, nearest - time.monotonic())))


WATCHDOG = Watchdog()


@contextlib.contextmanager
def watching(seconds: float) -> Iterator[Watch]:
    """Arm a watch for the block; it is always disarmed (and its duplicates closed)."""
    watch = WATCHDOG.arm(seconds)
    try:
        yield watch
    finally:
        WATCHDOG.disarm(watch)
