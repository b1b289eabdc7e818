"""The finding model: what a check says about one resource, and how sure it is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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

    @property
    def uid(self) -> str:
        return finding_uid(self.check_id, self.resource)

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
        )


def worst_status(statuses: list[Status]) -> Status:
    """The status that decides a check: the worst among its findings."""
    for s in STATUS_ORDER:
        if s in statuses:
            return s
    return Status.NOT_VERIFIED
