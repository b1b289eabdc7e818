"""The owners' claims: each decided by its checks as confirmed, refuted (with the
counter-evidence), needs review or not verified; the claims file is validated strictly."""

from __future__ import annotations

import html
from types import SimpleNamespace

import pytest
import yaml

from readiness.checks.registry import REGISTRY, all_checks
from readiness.config import AuditConfig, ConfigError
from readiness.findings import Finding, Location, Status
from readiness.report.claims import CLAIMS_FILE, Claim, Verdict, claims_frame, decide, load_claims
from readiness.report.waivers import Waiver, apply_waivers

SPECS = all_checks()
JWT = Claim(
    id="jwt",
    claim="JWT verification on protected functions",
    checks=["AUTH-VERIFY-JWT-DRIFT", "AUTH-PRIVILEGED-CALLER"],
)


def f(check: str, status: str, resource: str = "r", reason: str = "ok", **kw) -> Finding:
    spec = REGISTRY[check]
    return Finding(check, Status(status), spec.severity, resource, reason, spec.area, **kw)


def test_confirmed_when_every_deciding_check_passes() -> None:
    r = decide(
        JWT, [f("AUTH-VERIFY-JWT-DRIFT", "pass"), f("AUTH-PRIVILEGED-CALLER", "info")], SPECS
    )
    assert r.verdict == Verdict.CONFIRMED and r.counter_evidence == []
    assert r.evidence.startswith("Every deciding check passed (2 checks:")


def test_refuted_names_check_location_and_reason() -> None:
    bad = f(
        "AUTH-PRIVILEGED-CALLER",
        "fail",
        "function:server-details",
        "server-details acts without authenticating the caller.",
        location="supabase/functions/server-details/index.ts:20",
    )
    r = decide(JWT, [f("AUTH-VERIFY-JWT-DRIFT", "pass"), bad], SPECS)
    assert r.verdict == Verdict.REFUTED
    assert [(e.check_id, e.where, e.reason) for e in r.counter_evidence] == [
        (
            "AUTH-PRIVILEGED-CALLER",
            "supabase/functions/server-details/index.ts:20",
            "server-details acts without authenticating the caller.",
        )
    ]
    assert (
        "AUTH-PRIVILEGED-CALLER at supabase/functions/server-details/index.ts:20: "
        "server-details acts without authenticating the caller" in r.evidence
    )


def test_every_failing_location_of_a_problem_is_counter_evidence() -> None:
    problem = f(
        "AUTH-PRIVILEGED-CALLER",
        "fail",
        "problem",
        "lead",
        locations=[
            Location("fn:a", "a is open", Status.FAIL, "a.ts:1"),
            Location("fn:b", "b is open", Status.FAIL, "b.ts:2"),
        ],
    )
    r = decide(JWT, [f("AUTH-VERIFY-JWT-DRIFT", "pass"), problem], SPECS)
    assert [e.where for e in r.counter_evidence] == ["a.ts:1", "b.ts:2"]
    assert r.evidence.startswith("Refuted by 2 failure(s) in AUTH-PRIVILEGED-CALLER")


def test_a_failure_refutes_even_when_another_check_could_not_run() -> None:
    nv = f("AUTH-VERIFY-JWT-DRIFT", "not_verified", "check:AUTH-VERIFY-JWT-DRIFT", "no API")
    r = decide(JWT, [nv, f("AUTH-PRIVILEGED-CALLER", "fail", "fn:x", "open")], SPECS)
    assert r.verdict == Verdict.REFUTED and "(also 1 not verified)" in r.evidence


def test_a_warning_needs_review_and_does_not_refute() -> None:
    warn = f("AUTH-PRIVILEGED-CALLER", "warn", "fn:x", "maybe open (review: precision medium)")
    r = decide(JWT, [f("AUTH-VERIFY-JWT-DRIFT", "pass"), warn], SPECS)
    assert r.verdict == Verdict.NEEDS_REVIEW
    assert r.verdict.label == "⚠️ Not confirmed: needs review"
    assert "maybe open" in r.evidence and r.counter_evidence[0].status == Status.WARN


def test_not_verified_says_why_and_groups_shared_reasons() -> None:
    why = "source 'supabase_api' disabled in params"
    findings = [
        f("AUTH-VERIFY-JWT-DRIFT", "not_verified", "check:AUTH-VERIFY-JWT-DRIFT", why),
        f("AUTH-PRIVILEGED-CALLER", "pass"),
    ]
    r = decide(JWT, findings, SPECS)
    assert r.verdict == Verdict.NOT_VERIFIED
    assert r.evidence == f"Not verified: AUTH-VERIFY-JWT-DRIFT: {why}."


def test_a_deciding_check_without_any_result_is_not_verified() -> None:
    r = decide(JWT, [f("AUTH-PRIVILEGED-CALLER", "pass")], SPECS)
    assert r.verdict == Verdict.NOT_VERIFIED and "AUTH-VERIFY-JWT-DRIFT: did not run" in r.evidence


def test_not_applicable_alone_cannot_confirm() -> None:
    na = [
        f(c, "not_applicable", f"check:{c}", "no Supabase Edge Functions found") for c in JWT.checks
    ]
    r = decide(JWT, na, SPECS)
    assert r.verdict == Verdict.NOT_VERIFIED
    assert "no deciding check applies" in r.evidence and "no Supabase Edge Functions" in r.evidence
    # one applicable check that passes confirms, and the report says what did not apply
    r = decide(JWT, [na[0], f("AUTH-PRIVILEGED-CALLER", "pass")], SPECS)
    assert r.verdict == Verdict.CONFIRMED
    assert "not applicable: AUTH-VERIFY-JWT-DRIFT" in r.evidence


def test_a_waived_failure_still_refutes_the_claim() -> None:
    found = [
        f("AUTH-VERIFY-JWT-DRIFT", "pass"),
        f("AUTH-PRIVILEGED-CALLER", "fail", "fn:x", "open"),
    ]
    waived, _ = apply_waivers(
        found, [Waiver(check="AUTH-PRIVILEGED-CALLER", reason="accepted for launch")], _today()
    )
    assert waived[1].status == Status.WAIVED
    r = decide(JWT, waived, SPECS)
    assert r.verdict == Verdict.REFUTED and r.counter_evidence[0].waived
    assert "(waived)" in r.evidence


def _today():
    from datetime import date

    return date(2026, 11, 26)


def test_resources_narrow_the_findings_that_decide() -> None:
    claim = Claim(
        id="mc16",
        claim="Added Minecraft 16GB plan with live Stripe price",
        checks=["STRIPE-PRICE-LIVE", "STRIPE-CATALOG-COVERAGE"],
        resources=["plan:minecraft-16*", "catalog:minecraft-16gb"],
    )
    other_bad = f("STRIPE-PRICE-LIVE", "fail", "plan:terraria-1gb", "not live")
    ours = f("STRIPE-PRICE-LIVE", "pass", "plan:minecraft-16gb")
    assert decide(claim, [other_bad, ours], SPECS).verdict == Verdict.CONFIRMED
    missing = f("STRIPE-CATALOG-COVERAGE", "fail", "catalog:minecraft-16gb", "No active plan")
    r = decide(claim, [other_bad, missing], SPECS)
    assert r.verdict == Verdict.REFUTED and r.counter_evidence[0].where == "catalog:minecraft-16gb"
    r = decide(claim, [other_bad], SPECS)
    assert (
        r.verdict == Verdict.NOT_VERIFIED and "no finding concerns plan:minecraft-16*" in r.evidence
    )
    # a check that could not run at all leaves every claim it decides open
    nv = f("STRIPE-PRICE-LIVE", "not_verified", "check:STRIPE-PRICE-LIVE", "source 'stripe' down")
    assert decide(claim, [nv, ours], SPECS).verdict == Verdict.NOT_VERIFIED


def test_areas_narrowed_by_severity() -> None:
    claim = Claim(id="blockers", claim="No critical blockers", areas=[4], severity="critical")
    critical = [s.id for s in SPECS if s.area == 4 and str(s.severity) == "critical"]
    findings = [f(c, "pass") for c in critical] + [f("AUTH-OWNERSHIP", "fail", "fn:x", "high")]
    assert REGISTRY["AUTH-OWNERSHIP"].severity == "high"
    assert decide(claim, findings, SPECS).verdict == Verdict.CONFIRMED
    findings.append(f(critical[0], "fail", "fn:y", "critical one"))
    assert decide(claim, findings, SPECS).verdict == Verdict.REFUTED


def test_shipped_claims_are_the_seeds_and_name_real_checks() -> None:
    claims = load_claims(None, SPECS)
    by_id = {c.id: c for c in claims}
    for wanted in (
        "all-plans-live",
        "jwt-protected",
        "checkout-urls",
        "capacity-statuses",
        "panel-no-password-reset",
        "error-handling",
        "criteria-no-blockers",
    ):
        assert wanted in by_id
    assert "37" in by_id["all-plans-live"].claim and by_id["all-plans-live"].counts
    known = {s.id for s in SPECS}
    assert all(set(c.checks) <= known for c in claims)


def test_claims_frame_adds_the_plan_counts_where_asked() -> None:
    claims = load_claims(None, SPECS)
    df = claims_frame(claims, [f("STRIPE-PRICE-LIVE", "pass", "plan:a")], SPECS, claimed=37)
    row = df.set_index("id").loc["all-plans-live"]
    assert row["verdict"] == "not verified" and "Counts: " in row["evidence"]
    assert list(df.columns)[:6] == ["id", "claim", "wording", "verdict", "result", "evidence"]


def _write(tmp_path, text: str):
    p = tmp_path / "claims.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,needle",
    [
        (
            "claims:\n  - {id: a, claim: All live, checks: [STRIPE-PRICE-LIVEE, NOPE-X]}\n",
            "unknown check id(s): STRIPE-PRICE-LIVEE (claim a), NOPE-X (claim a)",
        ),
        ("claims:\n  - {id: a, claim: All live}\n", "claim #1 is invalid: names no checks"),
        ("claims:\n  - {id: a, claim: x y, checks: [], ares: [1]}\n", "ares: unknown key"),
        ("claims:\n  - {id: a, checks: [STRIPE-PRICE-LIVE]}\n", "claim #1 is invalid: claim:"),
        ("claims:\n  - {id: a, claim: abc, areas: [11]}\n", "areas.0"),
        (
            "claims:\n  - {id: a, claim: abc, areas: [1]}\n  - {id: a, claim: def, areas: [2]}\n",
            "claim id(s) given twice: a",
        ),
        ("claims:\n  - {id: a, claim: abc, areas: [1], counts: all}\n", "counts"),
        ("clams: []\n", "unknown key(s) clams"),
        ("", "the claims file is empty"),
        ("claims: {a: 1}\n", "expected a list of claims"),
        ("claims:\n  - id: [a\n", "not valid YAML"),
    ],
)
def test_bad_claims_file_is_one_line_config_error(tmp_path, text, needle) -> None:
    with pytest.raises(ConfigError) as exc:
        load_claims(_write(tmp_path, text), SPECS)
    assert needle in str(exc.value)
    assert len(str(exc.value).splitlines()) == 1


def test_missing_claims_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="claims file not found"):
        load_claims(tmp_path / "nope.yaml", SPECS)


def test_claims_html_escapes_everything_from_data(tmp_path) -> None:
    from readiness.views.claims import claims_html, claims_table

    path = _write(
        tmp_path,
        yaml.safe_dump(
            {
                "claims": [
                    {
                        "id": "x",
                        "claim": "<script>alert(1)</script> is fixed",
                        "wording": "a & b",
                        "checks": ["AUTH-PRIVILEGED-CALLER"],
                    }
                ]
            }
        ),
    )
    bad = f("AUTH-PRIVILEGED-CALLER", "fail", "fn:<img src=x>", "calls <b>admin</b>")
    audit = SimpleNamespace(config=AuditConfig(claims_file=path), specs=SPECS, findings=[bad])
    assert claims_table(audit)["verdict"].tolist() == ["refuted"]
    out = claims_html(audit)
    assert "<script>" not in out and "<img" not in out and "<b>admin" not in out
    assert html.escape("<script>alert(1)</script> is fixed") in out
    assert "❌ Refuted" in out and "a &amp; b" in out


def test_the_shipped_file_is_the_default() -> None:
    assert load_claims(None, SPECS) == load_claims(CLAIMS_FILE, SPECS)


def test_a_location_waived_alone_is_still_counter_evidence() -> None:
    problem = f(
        "AUTH-PRIVILEGED-CALLER",
        "fail",
        "problem",
        "lead",
        locations=[
            Location("fn:a", "a is open", Status.FAIL, "a.ts:1"),
            Location("fn:b", "b is open", Status.FAIL, "b.ts:2"),
        ],
    )
    waiver = Waiver(check="AUTH-PRIVILEGED-CALLER", resource="fn:a", reason="internal only")
    waived, _ = apply_waivers([f("AUTH-VERIFY-JWT-DRIFT", "pass"), problem], [waiver], _today())
    assert [loc.status for loc in waived[1].locations] == [Status.WAIVED, Status.FAIL]
    r = decide(JWT, waived, SPECS)
    assert r.verdict == Verdict.REFUTED
    assert [(e.where, e.status, e.waived) for e in r.counter_evidence] == [
        ("a.ts:1", Status.FAIL, True),
        ("b.ts:2", Status.FAIL, False),
    ]
