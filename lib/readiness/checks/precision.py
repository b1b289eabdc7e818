"""Measured precision per check, as CodeQL's `@precision`: how often a rule's findings
are true on real code, from the precision bench (`bench/precision.py`, hand labels over
public Supabase + Stripe projects).

The figures live in `precision.json` next to this file, written by
`python bench/precision.py --write-metadata` and committed; nothing here measures. A
check whose measured precision is below *high* reports its failures as `warn`
("review"), so only rules that are right at least 85% of the time move the verdict. A
check the corpus has no measurement for keeps its behaviour and says "not measured".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRECISION_FILE = Path(__file__).with_name("precision.json")
MIN_LABELS = 5  # fewer labels than this is not a measurement
LEVELS = (("very-high", 0.95), ("high", 0.85), ("medium", 0.6), ("low", 0.0))
FAILING_LEVELS = frozenset({"very-high", "high"})


@dataclass(frozen=True)
class Precision:
    level: str | None  # None: not measured
    value: float | None = None
    labelled: int = 0
    true: int = 0

    @property
    def measured(self) -> bool:
        return self.level is not None

    @property
    def may_fail(self) -> bool:
        """Only very-high and high precision rules (or unmeasured ones) fail."""
        return self.level is None or self.level in FAILING_LEVELS

    def describe(self) -> str:
        if self.level is None:
            extra = f" ({self.labelled} label(s))" if self.labelled else ""
            return f"precision not measured{extra}"
        return f"precision {self.level}: {self.value:.0%} of {self.labelled} labelled true"

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level or "not measured",
            "value": self.value,
            "labelled": self.labelled,
            "true": self.true,
        }


def level_for(value: float) -> str:
    return next(name for name, floor in LEVELS if value >= floor)


def from_counts(labelled: int, true: int) -> Precision:
    if labelled < MIN_LABELS:
        return Precision(None, None, labelled, true)
    value = true / labelled
    return Precision(level_for(value), round(value, 3), labelled, true)


@cache
def _measurements() -> dict[str, dict[str, Any]]:
    if not PRECISION_FILE.is_file():
        return {}
    return json.loads(PRECISION_FILE.read_text(encoding="utf-8")).get("checks", {})


def precision_of(check_id: str) -> Precision:
    m = _measurements().get(check_id)
    if not m:
        return Precision(None)
    return from_counts(int(m["labelled"]), int(m["true"]))
