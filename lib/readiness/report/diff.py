"""Changes between two runs, by stable finding uid: new, resolved, still failing, and
changed severity or status."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from readiness.userfiles import parse_problem

PROBLEMS = {"fail", "warn", "not_verified"}
FINDING_KEYS = ("finding_uid", "check_id", "status", "severity", "resource", "reason")


def load_findings(path: str | Path) -> list[dict]:
    """Findings of a run folder or of a findings.json file."""
    p = Path(path)
    if p.is_dir():
        p = p / "findings.json"
    if not p.is_file():
        raise FileNotFoundError(f"no findings.json at {path}")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # invalid JSON or not UTF-8
        kind, where, problem = parse_problem(exc)
        problem += f" at {where}" if where else ""
        raise ValueError(
            f"{p} is not a readiness findings.json: not valid {kind} ({problem})"
        ) from None
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        raise ValueError(f"{p} is not a readiness findings.json: no list of findings")
    for n, f in enumerate(findings, start=1):
        missing = [k for k in FINDING_KEYS if not isinstance(f, dict) or k not in f]
        if missing:
            raise ValueError(
                f"{p} is not a readiness findings.json: finding #{n} lacks {', '.join(missing)}"
            )
    return findings


STATUS_RANK = {"fail": 0, "not_verified": 1, "warn": 2, "waived": 3}


def problem_uids(*docs: list[dict]) -> dict[str, str]:
    """Each location's uid → its problem's uid, from every run that lists locations
    (schema 1.2): a run from before problems were grouped keyed every occurrence by the
    uid that is now its location's, so both sides can be read as problems."""
    out: dict[str, str] = {}
    for findings in docs:
        for f in findings:
            for loc in f.get("locations") or []:
                if isinstance(loc, dict) and loc.get("uid"):
                    out.setdefault(loc["uid"], f["finding_uid"])
    return out


def by_problem(findings: list[dict], canonical: dict[str, str]) -> dict[str, dict]:
    """Findings keyed by problem uid; occurrences of one problem (an older run's rows)
    fold into the worst of them."""
    out: dict[str, dict] = {}
    for f in findings:
        uid = canonical.get(f["finding_uid"], f["finding_uid"])
        seen = out.get(uid)
        if seen is None or STATUS_RANK.get(f["status"], 9) < STATUS_RANK.get(seen["status"], 9):
            out[uid] = f
    return out


def diff_findings(old: list[dict], new: list[dict]) -> pd.DataFrame:
    canonical = problem_uids(new, old)
    before = by_problem(old, canonical)
    after = by_problem(new, canonical)
    rows = []
    for uid in sorted(set(before) | set(after)):
        o, n = before.get(uid), after.get(uid)
        was, now = (o or {}).get("status"), (n or {}).get("status")
        if n and now in PROBLEMS and (o is None or was not in PROBLEMS):
            change = "new"
        elif o and was in PROBLEMS and (n is None or now not in PROBLEMS):
            change = "resolved"
        elif o and n and was in PROBLEMS and now in PROBLEMS:
            if o["severity"] != n["severity"]:
                change = "changed severity"
            elif was != now:
                change = "changed status"
            else:
                change = "still failing" if now == "fail" else f"still {now}"
        else:
            continue
        ref = n or o
        rows.append(
            {
                "change": change,
                "check_id": ref["check_id"],
                "resource": ref["resource"],
                "was": was,
                "now": now,
                "severity": ref["severity"],
                "reason": ref["reason"],
                "finding_uid": uid,
            }
        )
    order = {"new": 0, "changed severity": 1, "changed status": 2, "resolved": 3}
    df = pd.DataFrame(
        rows,
        columns=[
            "change",
            "check_id",
            "resource",
            "was",
            "now",
            "severity",
            "reason",
            "finding_uid",
        ],
    )
    return df.sort_values(
        ["change", "check_id", "resource"],
        key=lambda s: s.map(lambda v: order.get(v, 9)) if s.name == "change" else s,
    ).reset_index(drop=True)


def previous_runs(outputs_root: Path, before: Path | None = None) -> list[Path]:
    """Earlier published run folders (oldest first), excluding `before` and staging."""
    if not outputs_root.is_dir():
        return []
    runs = [
        p
        for p in outputs_root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "findings.json").is_file()
    ]
    runs = [p for p in runs if before is None or p.resolve() != before.resolve()]
    return sorted(
        runs, key=lambda p: json.loads((p / "findings.json").read_text()).get("generated_at", "")
    )
