"""The owners' claims, each confirmed or refuted by the checks that decide it.

A claim is data (report/claims.yaml, or the params' `claims_file`) mapped to checks the
way checklist.yaml maps the seed's checklist (`tables.item_checks`). It is decided on
what was found, a waiver notwithstanding (a waiver accepts a risk, it does not make a
claim true):

- **Refuted** — a deciding check failed; its failures are the counter-evidence, and
  refute the claim even when other checks could not run.
- **Not verified** — otherwise, when a deciding check could not run (not verified, not
  implemented, no result), or nothing was left to decide it: only *not applicable*
  checks, or no finding about the claim's `resources`.
- **Needs review** — otherwise, when a check warned. A warning is "look at this", not a
  proven failure (precision-demoted rules warn too), so it leaves the claim not
  confirmed without refuting it.
- **Confirmed** — every deciding check that applies passed (pass or info).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from readiness.checks.registry import CheckSpec
from readiness.config import ConfigError, one_line_errors, read_yaml_file
from readiness.findings import (
    SEVERITY_ORDER,
    Finding,
    Location,
    Severity,
    Status,
    locations_as_found,
)
from readiness.report import prices
from readiness.report.tables import item_checks

CLAIMS_FILE = Path(__file__).with_name("claims.yaml")
SHOWN = 3
REASON_CHARS = 180


class Claim(BaseModel):
    """One claim and the checks that decide it (the keys checklist.yaml items have)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+([-_][a-z0-9]+)*$")
    claim: str = Field(min_length=3, description="as the owners wrote it")
    wording: str | None = Field(None, description="what the checks test, when it differs")
    checks: list[str] = Field(default_factory=list)
    areas: list[Annotated[int, Field(ge=1, le=9)]] = Field(default_factory=list)
    severity: Severity | None = Field(None, description="narrows `areas` to one severity")
    resources: list[str] = Field(
        default_factory=list, description="fnmatch patterns: only findings about these decide"
    )
    counts: Literal["plan_prices"] | None = Field(
        None, description="add the plan and price counts to the evidence"
    )

    @model_validator(mode="after")
    def _decided_by_something(self) -> Claim:
        if not self.checks and not self.areas:
            raise ValueError("names no checks or areas to decide it")
        if self.severity and not self.areas:
            raise ValueError("severity narrows areas, but no areas are named")
        return self


def load_claims(path: Path | None, specs: list[CheckSpec]) -> list[Claim]:
    """The claims file (the seed's when `path` is None), validated strictly: any
    problem is a one-line ConfigError (exit 2), never an ignored claim."""
    path = path or CLAIMS_FILE
    raw = read_yaml_file(path, "claims file")
    if raw is None:
        raise ConfigError(f"{path}: the claims file is empty")
    if isinstance(raw, dict):
        extra = sorted(map(str, set(raw) - {"claims"}))
        if extra:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(extra)}; expected 'claims:'")
        raw = raw.get("claims") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of claims under 'claims:'")
    claims: list[Claim] = []
    for n, item in enumerate(raw, start=1):
        try:
            claims.append(Claim.model_validate(item))
        except ValidationError as err:
            raise ConfigError(f"{path}: claim #{n} is invalid: {one_line_errors(err)}") from None
    ids = [c.id for c in claims]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"{path}: claim id(s) given twice: {', '.join(twice)}")
    known = {s.id for s in specs}
    unknown = [f"{cid} (claim {c.id})" for c in claims for cid in c.checks if cid not in known]
    if unknown:
        raise ConfigError(
            f"{path}: unknown check id(s): {', '.join(unknown)} (`readiness checks` lists them)"
        )
    return claims


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    NEEDS_REVIEW = "needs review"
    NOT_VERIFIED = "not verified"

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self]


VERDICT_LABELS = {
    Verdict.CONFIRMED: "✅ Confirmed",
    Verdict.REFUTED: "❌ Refuted",
    Verdict.NEEDS_REVIEW: "⚠️ Not confirmed: needs review",
    Verdict.NOT_VERIFIED: "❔ Not verified",
}


@dataclass(frozen=True)
class Evidence:
    """One occurrence that speaks against (or leaves open) a claim."""

    check_id: str
    where: str  # path:line, else the resource
    reason: str
    status: Status  # as found (a waived failure is a failure)
    waived: bool = False
    severity: Severity = Severity.INFO

    def describe(self) -> str:
        reason = self.reason.rstrip(".")
        if len(reason) > REASON_CHARS:
            reason = reason[: REASON_CHARS - 1].rstrip() + "…"
        return f"{self.check_id} at {self.where}: {reason}" + (" (waived)" if self.waived else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "where": self.where,
            "reason": self.reason,
            "status": str(self.status),
            "waived": self.waived,
            "severity": str(self.severity),
        }


@dataclass
class ClaimResult:
    claim: Claim
    verdict: Verdict
    evidence: str  # one sentence
    counter_evidence: list[Evidence] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def _concerns(patterns: list[str], resource: str, location: str | None = None) -> bool:
    """No patterns: everything. A check-wide result (`check:ID`, e.g. not verified or
    not applicable) concerns every claim its check decides."""
    if not patterns or resource.startswith("check:"):
        return True
    return any(
        fnmatch.fnmatchcase(resource, p) or (location and fnmatch.fnmatchcase(location, p))
        for p in patterns
    )


def _occurrences(f: Finding, patterns: list[str]) -> list[tuple[Location, Status]]:
    return [
        (loc, status)
        for loc, status in locations_as_found(f)
        if _concerns(patterns, loc.resource, loc.location)
    ]


def _evidence(f: Finding, loc: Location, status: Status) -> Evidence:
    waived = loc.status == Status.WAIVED or f.status == Status.WAIVED
    where = loc.location or loc.resource
    return Evidence(f.check_id, where, loc.reason, status, waived, loc.severity or f.severity)


def _some(items: list[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    more = f"; and {total - SHOWN} more" if total > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def _grouped(evidence: list[Evidence]) -> str:
    """Reasons, each once, with the checks that share it (many checks share one
    unreachable source)."""
    by_reason: dict[str, list[str]] = {}
    for e in evidence:
        # a reason may list several causes with "; ", the separator between groups here
        by_reason.setdefault(e.reason.rstrip(".").replace("; ", " and "), []).append(e.check_id)
    items = [
        f"{_names(list(dict.fromkeys(i for i in ids if i)))}: {reason}" if any(ids) else reason
        for reason, ids in by_reason.items()
    ]
    return _some(items)


def _gather(
    claim: Claim, findings: list[Finding], specs: list[CheckSpec]
) -> tuple[list[str], dict[Status, list[Evidence]]]:
    """The deciding checks, and every occurrence that concerns the claim by status as
    found; a deciding check with no result (or not implemented) is not verified."""
    resolved = item_checks(claim.model_dump(), specs)
    ids = set(resolved.ids)
    seen: set[str] = set()
    by_status: dict[Status, list[Evidence]] = {}
    for f in findings:
        if f.check_id in ids:
            for loc, status in _occurrences(f, claim.resources):
                seen.add(f.check_id)
                by_status.setdefault(status, []).append(_evidence(f, loc, status))
    gaps = by_status.setdefault(Status.NOT_VERIFIED, [])
    if not claim.resources:  # the runner gives every check a result: silence is a gap
        gaps += [
            Evidence(c, f"check:{c}", "did not run", Status.NOT_VERIFIED)
            for c in resolved.ids
            if c not in seen
        ]
    gaps += [Evidence("", "claims file", n, Status.NOT_VERIFIED) for n in resolved.notes()]
    return sorted(ids), by_status


def decide(claim: Claim, findings: list[Finding], specs: list[CheckSpec]) -> ClaimResult:
    """Confirmed, refuted, needs review or not verified, with the evidence in a sentence."""
    checks, by_status = _gather(claim, findings, specs)
    fails = _worst_first(by_status.get(Status.FAIL, []))
    warns = _worst_first(by_status.get(Status.WARN, []))
    gaps = by_status[Status.NOT_VERIFIED]
    na = by_status.get(Status.NOT_APPLICABLE, [])
    passed = sorted({e.check_id for s in (Status.PASS, Status.INFO) for e in by_status.get(s, [])})

    def result(verdict: Verdict, sentence: str, evidence: list[Evidence]) -> ClaimResult:
        return ClaimResult(claim, verdict, sentence + ".", evidence, checks)

    also = [f"{len(gaps)} not verified"] if gaps else []
    also += [f"{len(warns)} warning(s)"] if warns else []
    if fails:
        counted = len({(e.check_id, e.where) for e in fails})
        sentence = (
            f"Refuted by {counted} failure(s) in {_names(sorted({e.check_id for e in fails}))}: "
            f"{_some([e.describe() for e in fails], counted)}"
            + (f" (also {', '.join(also)})" if also else "")
        )
        return result(Verdict.REFUTED, sentence, fails)
    if gaps:
        sentence = f"Not verified: {_grouped(gaps)}"
        sentence += f" (also {len(warns)} warning(s))" if warns else ""
        return result(Verdict.NOT_VERIFIED, sentence, gaps + warns)
    if warns:
        sentence = f"{len(warns)} warning(s) to review: {_some([e.describe() for e in warns])}"
        return result(Verdict.NEEDS_REVIEW, sentence, warns)
    if not passed and na:
        return result(
            Verdict.NOT_VERIFIED, f"Not verified: no deciding check applies ({_grouped(na)})", na
        )
    if not passed:
        where = ", ".join(claim.resources) or "it"
        return result(Verdict.NOT_VERIFIED, f"Not verified: no finding concerns {where}", [])
    n = len(passed)
    sentence = f"Every deciding check passed ({n} check{'s' if n != 1 else ''}: {_names(passed)})"
    na_only = sorted({e.check_id for e in na} - set(passed))
    sentence += f"; not applicable: {_names(na_only)}" if na_only else ""
    return result(Verdict.CONFIRMED, sentence, [])


def _worst_first(evidence: list[Evidence]) -> list[Evidence]:
    """Most severe first (stable: the checks' order within a severity)."""
    return sorted(evidence, key=lambda e: SEVERITY_ORDER.index(e.severity))


def _names(ids: list[str], shown: int = 4) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def with_counts(result: ClaimResult, findings: list[Finding], claimed: int | None) -> ClaimResult:
    """Add the plan and price counts (report/prices.py) to a claim that asks for them."""
    if result.claim.counts != "plan_prices":
        return result
    counts = prices.summary(prices.price_counts(findings, claimed))
    result.evidence = f"{result.evidence} Counts: {counts}."
    return result


COLUMNS = ["id", "claim", "wording", "verdict", "result", "evidence", "counter_evidence", "checks"]


def claims_frame(
    claims: list[Claim],
    findings: list[Finding],
    specs: list[CheckSpec],
    claimed: int | None = None,
) -> pd.DataFrame:
    """One row per claim: its verdict, the evidence sentence and the counter-evidence
    (check id, where, reason); `claimed` is the catalogue's claimed plan count."""
    rows = []
    for claim in claims:
        r = with_counts(decide(claim, findings, specs), findings, claimed)
        rows.append(
            {
                "id": claim.id,
                "claim": claim.claim,
                "wording": claim.wording or "",
                "verdict": str(r.verdict),
                "result": r.verdict.label,
                "evidence": r.evidence,
                "counter_evidence": [e.to_dict() for e in r.counter_evidence],
                "checks": ", ".join(r.checks),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
