"""The seed checklist mapping is data: every id it names exists, every check decides at
least one item, and items are judged by their checks' worst status."""

from __future__ import annotations

import yaml

from readiness.checks.registry import all_checks
from readiness.findings import Finding, Severity, Status
from readiness.report import tables


def test_mapping_names_real_checks_and_covers_all():
    items = yaml.safe_load(tables.CHECKLIST_FILE.read_text())
    specs = all_checks()
    known = {s.id for s in specs}
    named = {c for item in items for c in item.get("checks", [])}
    assert named <= known, sorted(named - known)
    covered = set(named)
    for item in items:
        for area in item.get("areas", []):
            covered |= {
                s.id
                for s in specs
                if s.area == area
                and (not item.get("severity") or str(s.severity) == item["severity"])
            }
    assert covered == known, sorted(known - covered)


def test_item_takes_worst_status():
    specs = all_checks()
    findings = [Finding(s.id, Status.PASS, s.severity, "r", "ok", s.area) for s in specs]
    table = tables.seed_checklist(findings, specs)
    assert (table["result"] == "✅ Verified").all()
    findings[0] = Finding(specs[0].id, Status.FAIL, Severity.CRITICAL, "r", "bad", specs[0].area)
    table = tables.seed_checklist(findings, specs)
    assert specs[0].id == "STRIPE-ACCOUNT-LIVE"
    failing = set(table.loc[table["result"] == "❌ Issue", "item"])
    assert failing == {
        "Webhook is configured in Stripe Dashboard (LIVE mode)",
        "No critical bugs or missing pieces",
    }
