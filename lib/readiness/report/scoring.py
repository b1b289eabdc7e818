"""Score and verdict: a documented, weighted pass rate with caps.

Formula (printed in the report and the README):
- Each check gets the worst status of its findings.
- weight by severity: critical 10, high 5, medium 3, low 1, info 0.
- credit by status: pass 1, warn 0.5, waived 0.5, fail 0, not_verified 0 (info and
  not_applicable — the platform lacks what the check is about — are excluded).
- score = 1 + 9 × Σ(weight × credit) / Σ(weight), rounded to one decimal.
- Caps: an unwaived failure at or above `verdict.fail_on` (default: critical) caps the
  score at 4.0 and the verdict is NO-GO; a critical check that could not be verified, or
  an audit area with no checks yet, caps it at 6.0 and the verdict is CANNOT CONFIRM.
- Exit codes: 0 GO, 1 NO-GO, 3 CANNOT CONFIRM (2 is reserved for usage errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from readiness.checks.registry import AREAS, CheckSpec
from readiness.findings import SEVERITY_ORDER, Finding, Severity, Status, worst_status

WEIGHTS = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
CREDIT = {
    Status.PASS: 1.0,
    Status.WARN: 0.5,
    Status.WAIVED: 0.5,
    Status.FAIL: 0.0,
    Status.NOT_VERIFIED: 0.0,
}
NO_GO_CAP = 4.0
UNVERIFIED_CAP = 6.0
EXIT_CODES = {"GO": 0, "NO-GO": 1, "CANNOT CONFIRM": 3}
FORMULA = (
    "score = 1 + 9 × Σ(weight × credit) / Σ(weight) over checks; weight critical 10, high 5, "
    "medium 3, low 1; credit pass 1, warn 0.5, waived 0.5, fail 0, not verified 0 "
    "(not applicable and info checks are left out). "
    f"Unwaived blocking failure → NO-GO, score ≤ {NO_GO_CAP}; unverified critical check or "
    f"unimplemented area → CANNOT CONFIRM, score ≤ {UNVERIFIED_CAP}."
)


@dataclass
class Verdict:
    verdict: str
    score: float
    uncapped: float
    caps: list[str] = field(default_factory=list)
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_areas: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


def check_table(findings: list[Finding], specs: list[CheckSpec]) -> pd.DataFrame:
    """One row per check: its decisive status, weight, credit and what it cost the score."""
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    rows = []
    for spec in specs:
        fs = by_check.get(spec.id, [])
        status = worst_status([f.status for f in fs]) if fs else Status.NOT_VERIFIED
        unscored = status in (Status.INFO, Status.NOT_APPLICABLE)
        weight = 0 if unscored else WEIGHTS[spec.severity]
        credit = CREDIT.get(status, 0.0)
        counts = pd.Series([str(f.status) for f in fs]).value_counts().to_dict()
        rows.append(
            {
                "check_id": spec.id,
                "area": spec.area,
                "title": spec.title,
                "severity": str(spec.severity),
                "status": str(status),
                "weight": weight,
                "credit": credit,
                "lost": weight * (1 - credit),
                "findings": len(fs),
                "fail": counts.get("fail", 0),
                "not_verified": counts.get("not_verified", 0),
            }
        )
    return pd.DataFrame(rows)


def blocks(f: Finding, fail_on: str) -> bool:
    """An unwaived failure at or above the threshold, counted on its own (a consequence
    blocks through its cause, which took its severity)."""
    return f.status == Status.FAIL and f.cause is None and _at_or_above(str(f.severity), fail_on)


def _at_or_above(severity: str, threshold: str) -> bool:
    order = [str(s) for s in SEVERITY_ORDER]
    return order.index(severity) <= order.index(threshold)


def decide(findings: list[Finding], specs: list[CheckSpec], fail_on: str = "critical") -> Verdict:
    table = check_table(findings, specs)
    scored = table[table["weight"] > 0]
    total = scored["weight"].sum()
    uncapped = (
        round(1 + 9 * (scored["weight"] * scored["credit"]).sum() / total, 1) if total else 1.0
    )
    score, caps, verdict = uncapped, [], "GO"
    blocking = [f for f in findings if blocks(f, fail_on)]
    implemented = {s.area for s in specs}
    missing_areas = [a for a in AREAS if a != 10 and a not in implemented]
    unverified = table[(table["status"] == "not_verified") & (table["severity"] == "critical")]
    if blocking:
        verdict = "NO-GO"
        score = min(score, NO_GO_CAP)
        caps.append(
            f"{len(blocking)} unwaived failing problem(s) at severity ≥ {fail_on} "
            f"→ NO-GO, score capped at {NO_GO_CAP}"
        )
    if len(unverified) or missing_areas:
        if verdict == "GO":
            verdict = "CANNOT CONFIRM"
        score = min(score, UNVERIFIED_CAP)
        if len(unverified):
            caps.append(
                f"{len(unverified)} critical check(s) not verified "
                f"→ cannot confirm, score capped at {UNVERIFIED_CAP}"
            )
        if missing_areas:
            caps.append(
                f"areas {', '.join(map(str, missing_areas))} have no checks yet "
                f"→ cannot confirm, score capped at {UNVERIFIED_CAP}"
            )
    return Verdict(verdict, score, uncapped, caps, table, missing_areas)


def counts_by_status(findings: list[Finding]) -> dict[str, int]:
    """Problems per status: a consequence counts under its cause, not on its own."""
    counts = {str(s): 0 for s in Status}
    for f in findings:
        if f.cause is None:
            counts[str(f.status)] += 1
    return counts
