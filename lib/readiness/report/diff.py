"""Changes between two runs, by stable problem uid: new, resolved, changed severity,
status or locations, and the problems that are still there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from readiness.userfiles import parse_problem

PROBLEMS = {"fail", "warn", "not_verified"}
FINDING_KEYS = ("finding_uid", "check_id", "status", "severity", "resource", "reason")
# Every kind of change, in the order a report shows them.
CHANGED = ("changed severity", "changed status", "changed locations")
STILL = ("still failing", "still warn", "still not_verified")
KINDS = ("new", "resolved", *CHANGED, *STILL)
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
STATUS_RANK = {"fail": 0, "not_verified": 1, "warn": 2, "waived": 3}
COLUMNS = [
    "change",
    "check_id",
    "resource",
    "was",
    "now",
    "severity",
    "severity_was",
    "locations_was",
    "locations_now",
    "locations_added",
    "locations_removed",
    "reason",
    "finding_uid",
]


def _not_findings(p: Path, why: str) -> ValueError:
    return ValueError(f"{p} is not a readiness findings.json: {why}")


def _check_finding(p: Path, n: int, f: object) -> None:
    """One finding's shape, so a hand-edited or foreign file is a usage error (exit 2)
    and never a crash halfway through the diff."""
    missing = [k for k in FINDING_KEYS if not isinstance(f, dict) or k not in f]
    if missing:
        raise _not_findings(p, f"finding #{n} lacks {', '.join(missing)}")
    assert isinstance(f, dict)
    wrong = [k for k in FINDING_KEYS if not isinstance(f[k], str)]
    if wrong:
        raise _not_findings(p, f"finding #{n} has a {wrong[0]} that is not text")
    locs = f.get("locations")
    if locs is not None and not (
        isinstance(locs, list)
        and all(
            isinstance(loc, dict)
            and isinstance(loc.get("uid"), str)
            and isinstance(loc.get("status", ""), str)
            for loc in locs
        )
    ):
        raise _not_findings(
            p, f"finding #{n} has locations that are not a list of objects with a uid"
        )


def load_findings(path: str | Path) -> list[dict]:
    """Findings of a run folder or of a findings.json file (schema 1.1 or 1.2)."""
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
        raise _not_findings(p, f"not valid {kind} ({problem})") from None
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        raise _not_findings(p, "no list of findings")
    for n, f in enumerate(findings, start=1):
        _check_finding(p, n, f)
    return findings


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


def _worse(f: dict, than: dict | None) -> bool:
    return than is None or STATUS_RANK.get(f["status"], 9) < STATUS_RANK.get(than["status"], 9)


def by_problem(findings: list[dict], canonical: dict[str, str]) -> dict[str, dict]:
    """Findings keyed by problem uid; occurrences of one problem (an older run's rows)
    fold into the worst of them."""
    out: dict[str, dict] = {}
    for f in findings:
        uid = canonical.get(f["finding_uid"], f["finding_uid"])
        if _worse(f, out.get(uid)):
            out[uid] = f
    return out


def problem_locations(findings: list[dict], canonical: dict[str, str]) -> dict[str, frozenset]:
    """Problem uid → the uids of its failing, warning or unverified locations, for the
    problems of a run that lists locations (1.2). An older run's rows are left out: a
    count of rows is not a count of places, and would read as locations added."""
    out: dict[str, set[str]] = {}
    for f in findings:
        if not isinstance(f.get("locations"), list):
            continue
        uid = canonical.get(f["finding_uid"], f["finding_uid"])
        places = out.setdefault(uid, set())
        for loc in f["locations"]:
            if loc.get("status", f["status"]) in PROBLEMS:
                places.add(loc["uid"])
    return {uid: frozenset(places) for uid, places in out.items()}


def _kind(o: dict | None, n: dict | None, moved: bool) -> str | None:
    was, now = (o or {}).get("status"), (n or {}).get("status")
    if n and now in PROBLEMS and (o is None or was not in PROBLEMS):
        return "new"
    if o and was in PROBLEMS and (n is None or now not in PROBLEMS):
        return "resolved"
    if not (o and n and was in PROBLEMS and now in PROBLEMS):
        return None  # neither side is a problem
    if o["severity"] != n["severity"]:
        return "changed severity"
    if was != now:
        return "changed status"
    if moved:
        return "changed locations"
    return "still failing" if now == "fail" else f"still {now}"


@dataclass
class ChangeReport:
    """Every change record (one per problem that is a problem on either side) and the
    counts by kind, every kind present so a CI consumer can read any of them."""

    rows: list[dict[str, Any]]

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for r in self.rows:
            out[r["change"]] += 1
        return out

    def changes(self, *, include_still: bool = False) -> list[dict[str, Any]]:
        """New, resolved and changed problems; the still-there ones only when asked."""
        return [r for r in self.rows if include_still or r["change"] not in STILL]

    def frame(self, *, include_still: bool = True) -> pd.DataFrame:
        """The records as a table; a missing side stays None (object columns, no NaN)."""
        return pd.DataFrame(
            self.changes(include_still=include_still), columns=COLUMNS, dtype=object
        )


def compare(old: list[dict], new: list[dict]) -> ChangeReport:
    """Both runs read as problems (an older run's per-occurrence rows fold into the
    problem that now lists them as locations), then one record per problem."""
    canonical = problem_uids(new, old)
    before, after = by_problem(old, canonical), by_problem(new, canonical)
    places_before = problem_locations(old, canonical)
    places_after = problem_locations(new, canonical)
    rows = []
    for uid in set(before) | set(after):
        o, n = before.get(uid), after.get(uid)
        pb = places_before.get(uid) if o and o["status"] in PROBLEMS else None
        pa = places_after.get(uid) if n and n["status"] in PROBLEMS else None
        both = pb is not None and pa is not None
        change = _kind(o, n, both and pb != pa)
        if change is None:
            continue
        ref = n if n and n["status"] in PROBLEMS else o
        assert ref is not None
        rows.append(
            {
                "change": change,
                "check_id": ref["check_id"],
                "resource": ref["resource"],
                "was": o["status"] if o else None,
                "now": n["status"] if n else None,
                "severity": ref["severity"],
                "severity_was": o["severity"] if o else None,
                "locations_was": len(pb) if pb is not None else None,
                "locations_now": len(pa) if pa is not None else None,
                "locations_added": len(pa - pb) if both else None,
                "locations_removed": len(pb - pa) if both else None,
                "reason": ref["reason"],
                "finding_uid": uid,
            }
        )
    rank = {k: i for i, k in enumerate(KINDS)}
    rows.sort(
        key=lambda r: (
            rank[r["change"]],
            SEVERITY_RANK.get(r["severity"], 9),
            r["check_id"],
            r["resource"],
        )
    )
    return ChangeReport(rows)


def diff_findings(old: list[dict], new: list[dict]) -> pd.DataFrame:
    """Every change record as a table (still-there problems included)."""
    return compare(old, new).frame()


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
