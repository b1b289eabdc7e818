"""Report views: the platform's parts and what was not applicable, rule precision,
waivers, changes since the last run, and the findings trend."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from readiness.findings import Status
from readiness.report.diff import ChangeReport, compare, load_findings, previous_runs
from readiness.report.diff_render import cells
from readiness.workbook import Audit


def waivers(audit: Audit) -> pd.DataFrame:
    rows = [w.to_dict() for w in audit.waivers]
    cols = ["state", "check", "resource", "reason", "owner", "expires", "matched", "detail"]
    return pd.DataFrame(rows, columns=cols)


def _earlier(history_dir: str | Path | None) -> list[Path]:
    if not history_dir:
        return []
    return previous_runs(Path(history_dir), before=Path.cwd())


def _last_change_report(audit: Audit, history_dir: str | Path | None) -> ChangeReport | None:
    runs = _earlier(history_dir)
    if not runs:
        return None
    return compare(load_findings(runs[-1]), [f.to_dict() for f in audit.findings])


CHANGE_COLUMNS = ["change", "check_id", "resource", "status", "severity", "locations", "reason"]


def changes_since_last_run(audit: Audit, history_dir: str | Path | None) -> pd.DataFrame | None:
    """The new, resolved and changed problems since the newest earlier run in
    `history_dir` (the ones still there are counted by `changes_summary`), with a
    missing side shown as "–"; None when there is no earlier run."""
    report = _last_change_report(audit, history_dir)
    if report is None:
        return None
    rows = [[r["change"], *cells(r)] for r in report.changes()]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def changes_summary(audit: Audit, history_dir: str | Path | None) -> pd.DataFrame | None:
    """Problems by kind of change since the last run (every kind, zeros too, so "0 new"
    is said rather than left out); None when there is no earlier run."""
    report = _last_change_report(audit, history_dir)
    if report is None:
        return None
    counts = report.counts
    return pd.DataFrame({"kind": list(counts), "problems": list(counts.values())})


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
