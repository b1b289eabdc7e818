"""The finding model: one problem a check found, every place it occurs, and how sure it is.

A check yields one result per occurrence (a file, a row, a policy); results that are the
same problem (the same committed key, the same env var, the same table and command)
fold into one finding whose `locations` list every occurrence. A finding's uid is stable
per problem; each location keeps the uid it had as a finding of its own (schema 1.1), so
diffs and waivers written against either still match."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_VERIFIED = "not_verified"
    WAIVED = "waived"
    INFO = "info"
    NOT_APPLICABLE = "not_applicable"  # the platform lacks what the check is about

    @property
    def icon(self) -> str:
        return STATUS_ICONS[self]


STATUS_ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
    Status.NOT_VERIFIED: "⚠️",
    Status.WAIVED: "🛡️",
    Status.INFO: "ℹ️",
    Status.NOT_APPLICABLE: "➖",
}

# Worst first: a check's overall status is the worst status among its findings.
STATUS_ORDER = [
    Status.FAIL,
    Status.NOT_VERIFIED,
    Status.WARN,
    Status.WAIVED,
    Status.PASS,
    Status.INFO,
    Status.NOT_APPLICABLE,
]


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]


def finding_uid(check_id: str, resource: str) -> str:
    """Stable across runs so diffs and waivers can follow one finding over time."""
    return hashlib.sha256(f"{check_id}\x00{resource}".encode()).hexdigest()[:16]


LOCATION_RE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)$")


@dataclass
class Location:
    """One occurrence of a problem: its own resource, where it is, and what is wrong there."""

    resource: str
    reason: str
    status: Status
    location: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    waiver: dict[str, Any] | None = None

    def path_line(self) -> tuple[str, int] | None:
        """`(path, line)` when the location is code (`path:line`), else None."""
        m = LOCATION_RE.match(self.location or "")
        return (m["path"], int(m["line"])) if m else None

    def to_dict(self, check_id: str) -> dict[str, Any]:
        at = self.path_line()
        out: dict[str, Any] = {
            "uid": finding_uid(check_id, self.resource),
            "resource": self.resource,
            "location": self.location,
            "path": at[0] if at else None,
            "line": at[1] if at else None,
            "status": str(self.status),
            "reason": self.reason,
        }
        if self.severity is not None:
            out["severity"] = str(self.severity)
        if self.evidence:
            out["evidence"] = self.evidence
        if self.waiver:
            out["waiver"] = self.waiver
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Location:
        return cls(
            resource=d["resource"],
            reason=d.get("reason", ""),
            status=Status(d.get("status", "fail")),
            location=d.get("location"),
            evidence=d.get("evidence") or {},
            severity=Severity(d["severity"]) if d.get("severity") else None,
            waiver=d.get("waiver"),
        )


@dataclass
class Finding:
    check_id: str
    status: Status
    severity: Severity
    resource: str
    reason: str
    area: int
    title: str = ""
    location: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    remediation: str = ""
    waiver: dict[str, Any] | None = None
    # the check's measured precision level (checks.precision), e.g. "high", "not measured"
    precision: str = "not measured"
    # every occurrence of this problem (at least the finding itself)
    locations: list[Location] = field(default_factory=list)
    # how far the problem reaches: {"orders": 12, "plans": 3, "functions": 2, ...}
    impact: dict[str, int] = field(default_factory=dict)
    # what the check says this may be a consequence of: (check_id, resource of a problem
    # or of one of its locations) candidates, first found wins; `cause` is set when one
    # of those problems was found too
    cause_ref: tuple[tuple[str, str], ...] | None = None
    cause: dict[str, str] | None = None
    # the locations are the ordered steps of one attack path (an exposure, the code that
    # trusts it, the action it allows), reported as SARIF codeFlows
    chain: bool = False

    def __post_init__(self) -> None:
        if not self.locations:
            self.locations = [
                Location(self.resource, self.reason, self.status, self.location, {}, None)
            ]

    @property
    def uid(self) -> str:
        return finding_uid(self.check_id, self.resource)

    def resources(self) -> set[str]:
        """The problem's resource and every location's (what waivers and tests match)."""
        return {self.resource, *(loc.resource for loc in self.locations)}

    def location_uids(self) -> set[str]:
        return {finding_uid(self.check_id, loc.resource) for loc in self.locations}

    @property
    def blast_radius(self) -> int:
        """How many things the problem touches: the largest impact count, else the
        number of places it occurs."""
        return max([len(self.locations), *self.impact.values()])

    def to_dict(self) -> dict[str, Any]:
        return {
            "finding_uid": self.uid,
            "check_id": self.check_id,
            "area": self.area,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "resource": self.resource,
            "reason": self.reason,
            "location": self.location,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "waiver": self.waiver,
            "precision": self.precision,
            "locations": [loc.to_dict(self.check_id) for loc in self.locations],
            "impact": self.impact,
            "cause": self.cause,
            "chain": self.chain,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            check_id=d["check_id"],
            status=Status(d["status"]),
            severity=Severity(d["severity"]),
            resource=d["resource"],
            reason=d["reason"],
            area=int(d["area"]),
            title=d.get("title", ""),
            location=d.get("location"),
            evidence=d.get("evidence") or {},
            remediation=d.get("remediation", ""),
            waiver=d.get("waiver"),
            precision=d.get("precision") or "not measured",
            locations=[Location.from_dict(x) for x in d.get("locations") or []],
            impact=dict(d.get("impact") or {}),
            cause=d.get("cause"),
            chain=bool(d.get("chain")),
        )


def as_found(status: Status, waiver: dict[str, Any] | None) -> Status:
    """The status a check gave, before any waiver: a waiver accepts a risk, it does not
    undo a fact (claims and counts report what was found)."""
    if status == Status.WAIVED and waiver and waiver.get("original_status"):
        return Status(waiver["original_status"])
    return status


def locations_as_found(f: Finding) -> list[tuple[Location, Status]]:
    """Each occurrence with its status as found; a problem waived as a whole keeps the
    status it had in its own waiver, a location waived alone in the location's."""
    whole = as_found(f.status, f.waiver)
    return [
        (loc, as_found(loc.status, loc.waiver) if loc.waiver else whole)
        if loc.status == Status.WAIVED
        else (loc, loc.status)
        for loc in f.locations
    ]


def worst_status(statuses: list[Status]) -> Status:
    """The status that decides a check: the worst among its findings."""
    for s in STATUS_ORDER:
        if s in statuses:
            return s
    return Status.NOT_VERIFIED


PROBLEM_STATUSES = (Status.FAIL, Status.WARN, Status.NOT_VERIFIED)


def link_causes(findings: list[Finding]) -> list[Finding]:
    """Fold consequences into their cause: a finding whose check names the problem it
    follows from (a price missing in Stripe because its id is a placeholder) points at
    that problem when it was found, and the cause takes the worst severity of what it
    leads to. Statuses are untouched (every check still says what it saw); only counting
    and ranking read a consequence as part of its cause. A failure never hides under a
    cause that only warns."""
    sev = {s: n for n, s in enumerate(SEVERITY_ORDER)}
    index: dict[tuple[str, str], int] = {}
    for i, f in enumerate(findings):
        if f.status in (Status.FAIL, Status.WARN):
            for res in f.resources():
                index.setdefault((f.check_id, res), i)
    out = list(findings)

    def parent(i: int) -> int | None:
        for ref in out[i].cause_ref or ():
            j = index.get(ref)
            if j is not None and j != i:
                return j
        return None

    def root(i: int) -> int:
        seen = {i}
        while (j := parent(i)) is not None and j not in seen:
            seen.add(j)
            i = j
        return i

    for i, f in enumerate(findings):
        if f.cause_ref is None or f.status not in (Status.FAIL, Status.WARN):
            continue
        r = root(i)
        target = out[r]
        if r == i or (f.status == Status.FAIL and target.status != Status.FAIL):
            continue
        out[i] = replace(
            out[i],
            cause={
                "finding_uid": target.uid,
                "check_id": target.check_id,
                "resource": target.resource,
            },
        )
        if f.status == target.status and sev[f.severity] < sev[target.severity]:
            out[r] = replace(target, severity=f.severity)
    return out
