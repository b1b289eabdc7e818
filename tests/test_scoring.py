"""Score and verdict on hand-built finding sets: every cap and the exit codes."""

from __future__ import annotations

from readiness.checks.registry import AREAS, CheckSpec
from readiness.findings import Finding, Severity, Status
from readiness.report import ranking, scoring, tables


def spec(cid: str, severity: Severity, area: int = 1) -> CheckSpec:
    return CheckSpec(cid, area, cid, severity, ("stripe",), (), "r", "fix", lambda _i: [])


def finding(cid: str, status: Status, severity: Severity, area: int = 1, res: str = "x"):
    return Finding(cid, status, severity, res, "because", area)


ALL_AREAS = [spec(f"A{a}", Severity.LOW, a) for a in AREAS if a != 10]


def base_findings():
    return [finding(f"A{a}", Status.PASS, Severity.LOW, a) for a in AREAS if a != 10]


def test_all_pass_is_go_and_ten():
    specs = [*ALL_AREAS, spec("C", Severity.CRITICAL)]
    v = scoring.decide([*base_findings(), finding("C", Status.PASS, Severity.CRITICAL)], specs)
    assert (v.verdict, v.score, v.exit_code, v.caps) == ("GO", 10.0, 0, [])


def test_weighted_rate():
    specs = [*ALL_AREAS, spec("C", Severity.CRITICAL), spec("H", Severity.HIGH)]
    fs = [
        *base_findings(),
        finding("C", Status.PASS, Severity.CRITICAL),
        finding("H", Status.WARN, Severity.HIGH),
    ]
    v = scoring.decide(fs, specs)
    total = 9 * 1 + 10 + 5
    assert v.score == round(1 + 9 * (9 + 10 + 2.5) / total, 1)
    assert v.verdict == "GO"


def test_critical_fail_caps_and_no_go():
    specs = [*ALL_AREAS, spec("C", Severity.CRITICAL)]
    fs = [*base_findings(), finding("C", Status.FAIL, Severity.CRITICAL)]
    v = scoring.decide(fs, specs)
    assert v.verdict == "NO-GO" and v.exit_code == 1 and v.score <= scoring.NO_GO_CAP
    assert any("NO-GO" in c for c in v.caps)


def test_fail_on_threshold():
    specs = [*ALL_AREAS, spec("H", Severity.HIGH)]
    fs = [*base_findings(), finding("H", Status.FAIL, Severity.HIGH)]
    assert scoring.decide(fs, specs, "critical").verdict == "GO"
    assert scoring.decide(fs, specs, "high").verdict == "NO-GO"


def test_unverified_critical_cannot_confirm():
    specs = [*ALL_AREAS, spec("C", Severity.CRITICAL)]
    fs = [*base_findings(), finding("C", Status.NOT_VERIFIED, Severity.CRITICAL)]
    v = scoring.decide(fs, specs)
    assert v.verdict == "CANNOT CONFIRM" and v.exit_code == 3
    assert v.score <= scoring.UNVERIFIED_CAP


def test_check_without_findings_counts_as_unverified():
    specs = [*ALL_AREAS, spec("C", Severity.CRITICAL)]
    v = scoring.decide(base_findings(), specs)
    assert v.verdict == "CANNOT CONFIRM"


def test_missing_area_cannot_confirm_and_is_never_verified():
    specs = [spec("C", Severity.CRITICAL, 1)]
    fs = [finding("C", Status.PASS, Severity.CRITICAL)]
    v = scoring.decide(fs, specs)
    assert v.verdict == "CANNOT CONFIRM" and v.missing_areas == [2, 3, 4, 5, 6, 7, 8, 9]
    table = tables.area_checklist(fs, specs)
    area2 = table[table["area"] == 2].iloc[0]
    assert "Not verified" in area2["result"] and "not implemented" in area2["note"]
    seed = tables.seed_checklist(fs, specs)
    assert not seed["result"].str.contains("Verified").all()
    assert (seed["result"] != "✅ Verified").sum() >= 8


def test_no_go_beats_cannot_confirm():
    specs = [spec("C", Severity.CRITICAL), spec("D", Severity.CRITICAL)]
    fs = [
        finding("C", Status.FAIL, Severity.CRITICAL),
        finding("D", Status.NOT_VERIFIED, Severity.CRITICAL),
    ]
    v = scoring.decide(fs, specs)
    assert v.verdict == "NO-GO" and len(v.caps) == 3


def test_blockers_and_recommendations_order():
    specs = [spec("C", Severity.CRITICAL), spec("M", Severity.MEDIUM), spec("H", Severity.HIGH)]
    fs = [
        finding("M", Status.FAIL, Severity.MEDIUM),
        finding("C", Status.FAIL, Severity.CRITICAL),
        finding("H", Status.WARN, Severity.HIGH),
    ]
    b = ranking.blockers(fs, specs, "high")
    assert [r.finding.check_id for r in b] == ["C"]
    rec = tables.recommendations(scoring.check_table(fs, specs), specs)
    assert list(rec["check_id"]) == ["C", "M", "H"]
