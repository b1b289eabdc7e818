"""Report views: the platform's parts and what was not applicable, rule precision,
waivers, changes since the last run, and the findings trend."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from readiness.findings import Status
from readiness.report.diff import diff_findings, previous_runs
from readiness.workbook import Audit


def waivers(audit: Audit) -> pd.DataFrame:
    rows = [w.to_dict() for w in audit.waivers]
    cols = ["state", "check", "resource", "reason", "owner", "expires", "matched", "detail"]
    return pd.DataFrame(rows, columns=cols)


def _earlier(history_dir: str | Path | None) -> list[Path]:
    if not history_dir:
        return []
    return previous_runs(Path(history_dir), before=Path.cwd())


def changes_since_last_run(audit: Audit, history_dir: str | Path | None) -> pd.DataFrame | None:
    """Diff against the newest earlier run in `history_dir`; None when there is none."""
    runs = _earlier(history_dir)
    if not runs:
        return None
    old = json.loads((runs[-1] / "findings.json").read_text())["findings"]
    new = [f.to_dict() for f in audit.findings]
    return diff_findings(old, new).drop(columns=["finding_uid"])


PROBLEM_COLUMNS = ["fail", "not_verified", "warn", "waived"]


def trend(audit: Audit, history_dir: str | Path | None) -> pd.DataFrame:
    """Findings per status for each earlier run and this one (oldest first). Every
    problem column is present (0 when no run had any), so a clean first run still
    charts: a row of zeros is the answer, not a missing chart."""
    rows = []
    for run in _earlier(history_dir):
        doc = json.loads((run / "findings.json").read_text())
        rows.append({"run": run.name, "score": doc.get("score"), **doc.get("counts", {})})
    counts = pd.Series([str(f.status) for f in audit.findings]).value_counts().to_dict()
    rows.append({"run": "this run", "score": audit.verdict.score, **counts})
    df = pd.DataFrame(rows).set_index("run")
    for col in PROBLEM_COLUMNS:
        if col not in df:
            df[col] = 0
    counts_cols = [c for c in df.columns if c != "score"]
    df[counts_cols] = df[counts_cols].fillna(0).astype(int)
    return df


def platform(audit: Audit) -> pd.DataFrame:
    """The parts of the platform the checks presuppose, whether each was found, and the
    checks left out (not applicable) because it was not."""
    from readiness.checks.platform import PARTS, platform_parts

    na = {f.check_id for f in audit.findings if f.status == Status.NOT_APPLICABLE}
    rows = []
    for name, part in platform_parts(audit.snapshot, audit.config).items():
        skipped = sorted(s.id for s in audit.specs if name in s.presupposes and s.id in na)
        state = "present" if part.present else "none found" if part.known else "unknown"
        rows.append(
            {
                "part": PARTS[name],
                "found": state,
                "evidence": "; ".join(part.evidence[:3]),
                "checks not applicable": ", ".join(skipped) or "—",
            }
        )
    return pd.DataFrame(rows)


def rule_precision(audit: Audit) -> pd.DataFrame:
    """How often each rule behind a failing or warning finding is right on real code
    (bench/precision.py): rules below *high* warn for review instead of failing."""
    problems = {f.check_id for f in audit.findings if f.status in (Status.FAIL, Status.WARN)}
    rows = []
    for spec in audit.specs:
        if spec.id not in problems:
            continue
        p = spec.precision
        rows.append(
            {
                "check_id": spec.id,
                "severity": str(spec.severity),
                "precision": p.level or "not measured",
                "measured": "—" if p.value is None else f"{p.value:.0%} of {p.labelled}",
                "effect": "fails" if p.may_fail else "warns (review)",
            }
        )
    return pd.DataFrame(rows, columns=["check_id", "severity", "precision", "measured", "effect"])
