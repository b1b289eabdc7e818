"""What every source returns, and the error it raises when it cannot collect."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


class SourceError(Exception):
    """A source could not collect; the message is shown to users, so it never holds secrets."""


@dataclass
class SourceResult:
    """Tables one source collected, plus counters the manifest records."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0  # of those, answered 429 (rate limited) and retried
    notes: list[str] = field(default_factory=list)
