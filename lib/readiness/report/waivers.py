"""Accepted risk: waivers keep a finding visible as `waived` with reason, owner and
expiry. An expired waiver no longer applies (and says so); a waiver that matches nothing
is stale. A waiver accepts a known risk, so it applies to `fail` and `warn` only: a
finding that could not be verified is not a known risk, and a waiver matching one is
reported as not applying (the cap on the verdict stays). An invalid waivers file is a
configuration error (exit 2), never ignored."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from readiness.config import ConfigError, read_yaml_file
from readiness.findings import Finding, Status
from readiness.userfiles import StrictLoader

WAIVABLE = (Status.FAIL, Status.WARN)


class _DatesAsText(StrictLoader):
    """YAML that leaves dates as text, so pydantic validates them and an impossible date
    (2027-02-30) is reported against its waiver instead of crashing the YAML parser."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in StrictLoader.yaml_implicit_resolvers.items()
}


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$")
    resource: str | None = Field(None, description="fnmatch pattern; absent = every resource")
    reason: str = Field(min_length=3)
    owner: str | None = None
    expires: date | None = None

    def matches(self, f: Finding) -> bool:
        return f.check_id == self.check and (
            self.resource is None or fnmatch.fnmatchcase(f.resource, self.resource)
        )


@dataclass
class WaiverOutcome:
    waiver: Waiver
    state: str  # applied | expired | stale | does not apply
    matched: int
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        w = self.waiver
        return {
            "check": w.check,
            "resource": w.resource,
            "reason": w.reason,
            "owner": w.owner,
            "expires": w.expires.isoformat() if w.expires else None,
            "state": self.state,
            "matched": self.matched,
            "detail": self.detail,
        }


def load_waivers(path: Path | None) -> list[Waiver]:
    if path is None:
        return []
    raw = read_yaml_file(path, "waivers file", loader=_DatesAsText)
    items = (raw or {}).get("waivers", []) if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list of waivers under 'waivers:'")
    waivers = []
    for n, item in enumerate(items, start=1):
        try:
            waivers.append(Waiver.model_validate(item))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: "
                f"{'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in err.errors(include_input=False, include_url=False)
            )
            raise ConfigError(f"{path}: waiver #{n} is invalid: {problems}") from None
    return waivers


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: date
) -> tuple[list[Finding], list[WaiverOutcome]]:
    """Mark waived findings; report each waiver as applied, expired or stale."""
    out = list(findings)
    outcomes = []
    for w in waivers:
        hits = [i for i, f in enumerate(out) if w.matches(f) and f.status in WAIVABLE]
        expired = w.expires is not None and w.expires < today
        for i in hits:
            f = out[i]
            info = {
                "reason": w.reason,
                "owner": w.owner,
                "expires": w.expires.isoformat() if w.expires else None,
                "original_status": str(f.status),
                "expired": expired,
            }
            out[i] = (
                replace(f, waiver=info)
                if expired
                else replace(f, status=Status.WAIVED, waiver=info)
            )
        unverified = [f for f in out if w.matches(f) and f.status == Status.NOT_VERIFIED]
        detail = ""
        if hits:
            state = "expired" if expired else "applied"
        elif unverified:
            state = "does not apply"
            detail = f"does not apply: not verified ({unverified[0].reason})"
        else:
            state = "stale"
        outcomes.append(WaiverOutcome(w, state, len(hits), detail))
    return out, outcomes
