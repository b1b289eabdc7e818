"""What every source returns, the error it raises when it cannot collect, and the
run-wide cancellation every wait checks (so Ctrl-C stops collection promptly)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pandas as pd


class SourceError(Exception):
    """A source could not collect; the message is shown to users, so it never holds secrets."""


class Cancelled(SourceError):
    """The run was interrupted (Ctrl-C / SIGTERM): the source stops where it is."""


# Set by the CLI's signal handler; every bounded wait in a source checks it, so worker
# threads notice an interrupt within one wait slice instead of running to the end.
CANCEL = threading.Event()


def check_cancelled(source: str) -> None:
    """Raise `Cancelled` once the run is being stopped."""
    if CANCEL.is_set():
        raise Cancelled(f"{source}: stopped (the run was interrupted)")


@dataclass
class SourceResult:
    """Tables one source collected, plus counters the manifest records."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0  # of those, answered 429 (rate limited) and retried
    notes: list[str] = field(default_factory=list)
