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

from readiness.config import ConfigError, one_line_errors, read_yaml_file
from readiness.findings import Finding, Status, worst_status
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
    resource: str | None = Field(
        None,
        description="fnmatch pattern on a problem's resource, or on one of its locations "
        "(its resource or path:line); absent = every problem of the check",
    )
    reason: str = Field(min_length=3)
    owner: str | None = None
    expires: date | None = None

    def matches(self, f: Finding) -> bool:
        """The whole problem: no pattern, or the problem's resource matches it."""
        return f.check_id == self.check and (
            self.resource is None or fnmatch.fnmatchcase(f.resource, self.resource)
        )

    def matched_locations(self, f: Finding) -> list[int]:
        """Indexes of the problem's locations the pattern names (by the location's own
        resource, i.e. a finding's resource before problems were grouped, or its
        `path:line`)."""
        if f.check_id != self.check or self.resource is None:
            return []
        return [
            i
            for i, loc in enumerate(f.locations)
            if fnmatch.fnmatchcase(loc.resource, self.resource)
            or (loc.location and fnmatch.fnmatchcase(loc.location, self.resource))
        ]


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
            raise ConfigError(f"{path}: waiver #{n} is invalid: {one_line_errors(err)}") from None
    return waivers


def _waiver_info(w: Waiver, status: Status, expired: bool) -> dict[str, Any]:
    return {
        "reason": w.reason,
        "owner": w.owner,
        "expires": w.expires.isoformat() if w.expires else None,
        "original_status": str(status),
        "expired": expired,
    }


def _waive_locations(f: Finding, w: Waiver, idx: list[int], expired: bool) -> Finding | None:
    """Waive some locations of a problem; the problem is waived once none of its failing
    or warning locations is left. None when no named location can be waived."""
    locations = list(f.locations)
    hit = False
    for i in idx:
        loc = locations[i]
        if loc.status not in WAIVABLE:
            continue
        hit = True
        info = _waiver_info(w, loc.status, expired)
        locations[i] = replace(loc, waiver=info, status=loc.status if expired else Status.WAIVED)
    if not hit:
        return None
    left = [loc.status for loc in locations if loc.status in WAIVABLE]
    if expired or left:
        status = worst_status(left) if left else f.status
        waived = len([loc for loc in locations if loc.status == Status.WAIVED])
        note = f" ({waived} of {len(locations)} locations waived)" if waived else ""
        return replace(f, locations=locations, status=status, reason=f.reason + note)
    return replace(
        f, locations=locations, status=Status.WAIVED, waiver=_waiver_info(w, f.status, expired)
    )


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: date
) -> tuple[list[Finding], list[WaiverOutcome]]:
    """Mark waived problems (or some of their locations); report each waiver as applied,
    expired or stale."""
    out = list(findings)
    outcomes = []
    for w in waivers:
        expired = w.expires is not None and w.expires < today
        matched = 0
        for i, f in enumerate(out):
            if f.status not in WAIVABLE:
                continue
            if w.matches(f):
                matched += 1
                info = _waiver_info(w, f.status, expired)
                out[i] = (
                    replace(f, waiver=info)
                    if expired
                    else replace(
                        f,
                        status=Status.WAIVED,
                        waiver=info,
                        locations=[
                            replace(loc, status=Status.WAIVED) if loc.status in WAIVABLE else loc
                            for loc in f.locations
                        ],
                    )
                )
            elif idx := w.matched_locations(f):
                changed = _waive_locations(f, w, idx, expired)
                if changed is not None:
                    matched += 1
                    out[i] = changed
        unverified = [
            f
            for f in out
            if f.status == Status.NOT_VERIFIED and (w.matches(f) or w.matched_locations(f))
        ]
        detail = ""
        if matched:
            state = "expired" if expired else "applied"
        elif unverified:
            state = "does not apply"
            detail = f"does not apply: not verified ({unverified[0].reason})"
        else:
            state = "stale"
        outcomes.append(WaiverOutcome(w, state, matched, detail))
    return out, outcomes
