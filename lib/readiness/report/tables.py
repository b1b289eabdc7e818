"""The report's tables: per-area checklist, the seed's checklist, blockers, recommendations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from readiness.checks.registry import AREAS, CheckSpec
from readiness.findings import STATUS_ICONS, Finding, Status, worst_status

CHECKLIST_FILE = Path(__file__).with_name("checklist.yaml")
VERDICT_LABELS = {
    Status.PASS: "✅ Verified",
    Status.INFO: "✅ Verified",
    Status.WARN: "⚠️ Needs Attention",
    Status.WAIVED: "⚠️ Needs Attention (waived)",
    Status.NOT_VERIFIED: "⚠️ Not verified",
    Status.FAIL: "❌ Issue",
    Status.NOT_APPLICABLE: "➖ Not applicable",
}


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    cols = [
        "finding_uid",
        "check_id",
        "area",
        "title",
        "status",
        "severity",
        "resource",
        "reason",
        "location",
        "remediation",
        "precision",
        "occurrences",
        "locations",
        "cause",
    ]
    rows = [
        {
            **{k: v for k, v in f.to_dict().items() if k in cols},
            "occurrences": len(f.locations),
            "locations": "; ".join(
                dict.fromkeys(loc.location or loc.resource for loc in f.locations)
            ),
            # a consequence names the problem it is counted under
            "cause": f"{f.cause['check_id']} {f.cause['resource']}" if f.cause else "",
        }
        for f in findings
    ]
    return pd.DataFrame(rows, columns=cols)


def _status_of(check_ids: list[str], findings: list[Finding], missing: bool) -> Status:
    statuses = [f.status for f in findings if f.check_id in check_ids]
    if missing:
        statuses.append(Status.NOT_VERIFIED)
    return worst_status(statuses) if statuses else Status.NOT_VERIFIED


def area_checklist(findings: list[Finding], specs: list[CheckSpec]) -> pd.DataFrame:
    """Areas 1–9 as Verified / Needs Attention / Issue, with counts; unbuilt areas are
    'not verified: not implemented', never verified."""
    rows = []
    for area, name in AREAS.items():
        if area == 10:
            continue
        ids = [s.id for s in specs if s.area == area]
        fs = [f for f in findings if f.area == area]
        status = _status_of(ids, findings, missing=not ids)
        counts = pd.Series([str(f.status) for f in fs], dtype="object").value_counts()
        rows.append(
            {
                "area": area,
                "name": name,
                "result": VERDICT_LABELS[status],
                "checks": len(ids),
                "pass": int(counts.get("pass", 0)),
                "warn": int(counts.get("warn", 0)),
                "fail": int(counts.get("fail", 0)),
                "not_verified": int(counts.get("not_verified", 0)),
                "note": "" if ids else "not verified: not implemented yet",
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ItemChecks:
    """The checks that decide one mapped item (a checklist item or an owners' claim)."""

    ids: list[str]
    missing: list[str]  # named but not registered
    empty_areas: list[int]  # named areas that have no checks

    @property
    def incomplete(self) -> bool:
        return bool(self.missing or self.empty_areas)

    def notes(self) -> list[str]:
        notes = []
        if self.empty_areas:
            notes.append(f"areas {', '.join(map(str, self.empty_areas))} not implemented yet")
        if self.missing:
            notes.append(f"checks not implemented: {', '.join(self.missing)}")
        return notes


def item_checks(item: Mapping[str, Any], specs: list[CheckSpec]) -> ItemChecks:
    """Resolve an item's `checks`, `areas` and `severity` (which narrows the areas to one
    severity) to check ids, the way checklist.yaml and claims.yaml both spell them."""
    known = {s.id: s for s in specs}
    ids = [c for c in item.get("checks") or [] if c in known]
    missing = [c for c in item.get("checks") or [] if c not in known]
    empty_areas = []
    for area in item.get("areas") or []:
        area_ids = [s.id for s in specs if s.area == area]
        if not area_ids:
            empty_areas.append(area)
        if item.get("severity"):
            area_ids = [i for i in area_ids if str(known[i].severity) == str(item["severity"])]
        ids += [i for i in area_ids if i not in ids]
    return ItemChecks(ids, missing, empty_areas)


def seed_checklist(findings: list[Finding], specs: list[CheckSpec]) -> pd.DataFrame:
    """The seed's section-10 checklist; the item→check mapping is data (checklist.yaml)."""
    items = yaml.safe_load(CHECKLIST_FILE.read_text())
    rows = []
    for item in items:
        resolved = item_checks(item, specs)
        status = _status_of(resolved.ids, findings, missing=resolved.incomplete)
        rows.append(
            {
                "item": item["item"],
                "result": VERDICT_LABELS[status],
                "checks": ", ".join(sorted(set(resolved.ids))),
                "note": "; ".join(resolved.notes()),
            }
        )
    return pd.DataFrame(rows)


def recommendations(check_rows: pd.DataFrame, specs: list[CheckSpec]) -> pd.DataFrame:
    """One line per check that lost score, ordered by impact (weight lost)."""
    by_id = {s.id: s for s in specs}
    lost = check_rows[check_rows["lost"] > 0].sort_values(["lost", "area"], ascending=[False, True])
    return pd.DataFrame(
        [
            {
                "impact": row.lost,
                "check_id": row.check_id,
                "status": row.status,
                "severity": row.severity,
                "do": by_id[row.check_id].remediation,
            }
            for row in lost.itertuples()
        ],
        columns=["impact", "check_id", "status", "severity", "do"],
    )


def status_icon(status: str) -> str:
    return f"{STATUS_ICONS[Status(status)]} {status}"
