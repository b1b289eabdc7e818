"""Which problems to fix first: severity × how sure the rule is × how far it reaches.

A manager reads the first screen and stops, so its order must be the order of risk: a
critical problem from a rule that is right 97% of the time and touches 40 orders comes
before a critical one from a rule that is right 85% of the time and touches one file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from readiness.checks.registry import CheckSpec
from readiness.findings import Finding, Status
from readiness.report.scoring import WEIGHTS, blocks

# a level's typical value where the check has a level but the figure is not at hand
LEVEL_VALUE = {"very-high": 0.97, "high": 0.9, "medium": 0.7, "low": 0.4}
# a rule nobody measured yet ranks a little below a measured *high* one
UNMEASURED = 0.85
FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)")


@dataclass(frozen=True)
class Ranked:
    finding: Finding
    score: float
    precision: float
    blocking: bool

    @property
    def where(self) -> str:
        """The first location, and how many more there are."""
        f = self.finding
        first = f.location or f.resource
        more = len({loc.location or loc.resource for loc in f.locations} - {first})
        return first + (f" and {more} more location(s)" if more else "")

    def sentence(self) -> str:
        """One plain sentence: what is wrong (the check's reason), where, and the fix."""
        f = self.finding
        reason = f.reason.strip().rstrip(".")
        fix = first_sentence(f.remediation)
        return f"{reason} ({self.where}). Fix: {fix}" if fix else f"{reason} ({self.where})."


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = FIRST_SENTENCE.match(text)
    return m[1] if m else text


def precision_value(spec: CheckSpec | None) -> float:
    if spec is None:
        return UNMEASURED
    p = spec.precision
    if p.value is not None:
        return p.value
    return LEVEL_VALUE.get(p.level or "", UNMEASURED)


def rank(
    findings: list[Finding],
    specs: list[CheckSpec],
    fail_on: str = "critical",
    statuses: tuple[Status, ...] = (Status.FAIL,),
) -> list[Ranked]:
    """Problems with one of `statuses`, riskiest first. The verdict's blockers (unwaived
    failures at or above `fail_on`) always come before the rest."""
    by_id = {s.id: s for s in specs}
    followers: dict[str, int] = {}
    for f in findings:
        if f.cause:
            followers[f.cause["finding_uid"]] = followers.get(f.cause["finding_uid"], 0) + 1
    out = []
    for f in findings:
        if f.status not in statuses or f.cause is not None:
            continue
        p = precision_value(by_id.get(f.check_id))
        reach = f.blast_radius + followers.get(f.uid, 0)
        score = WEIGHTS[f.severity] * p * (1 + math.log10(max(1, reach)))
        blocking = blocks(f, fail_on)
        out.append(Ranked(f, round(score, 3), p, blocking))
    return sorted(
        out,
        key=lambda r: (not r.blocking, -r.score, r.finding.area, r.finding.check_id),
    )


def blockers(findings: list[Finding], specs: list[CheckSpec], fail_on: str) -> list[Ranked]:
    """What blocks launch: the verdict's blocking problems, ranked."""
    return [r for r in rank(findings, specs, fail_on) if r.blocking]


def console_lines(
    findings: list[Finding], specs: list[CheckSpec], fail_on: str, limit: int = 5
) -> list[str]:
    """The top blockers for `readiness run`, one line each: what is wrong first (cut at
    a sentence's length), then the check and where."""
    lines = []
    for n, r in enumerate(blockers(findings, specs, fail_on)[:limit], start=1):
        reason = " ".join(r.finding.reason.split())
        if len(reason) > 100:
            reason = reason[:99].rstrip() + "…"
        lines.append(f"{n}. [{r.finding.severity}] {reason} — {r.finding.check_id} at {r.where}")
    return lines
