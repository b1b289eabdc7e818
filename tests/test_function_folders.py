"""QUALITY-FUNCTION-FOLDERS states each problem once: the folders config.toml leaves out
are one finding, the sections without code another, and a config.toml that does not
parse is said once, never read as "no section" for every function."""

from __future__ import annotations

from pathlib import Path

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.config import load_config, write_static_params
from readiness.findings import Status
from readiness.snapshot import collect

REPO = Path(__file__).resolve().parents[1]
HANDLER = 'Deno.serve(() => new Response("ok"));\n'


def _findings(tmp: Path, config_toml: str, slugs: list[str]):
    root = tmp / "checkout"
    for slug in slugs:
        (root / "supabase/functions" / slug).mkdir(parents=True)
        (root / "supabase/functions" / slug / "index.ts").write_text(HANDLER)
    (root / "supabase/config.toml").write_text(config_toml)
    config = load_config(write_static_params(tmp, root, REPO / "params/expected_catalog.yaml"))
    snapshot = collect(config, tmp / "evidence")
    all_checks()
    return evaluate_check(REGISTRY["QUALITY-FUNCTION-FOLDERS"], snapshot, config)


def test_unconfigured_folders_are_one_finding(tmp_path) -> None:
    toml = "[functions.checkout]\nverify_jwt = true\n\n[functions.refund]\nverify_jwt = true\n"
    found = _findings(tmp_path, toml, ["checkout", "cron-a", "cron-b", "cron-c"])
    problems = [f for f in found if f.status != Status.PASS]
    by_resource = {f.resource: f for f in problems}
    assert set(by_resource) == {"config:functions-without-section", "config:sections-without-code"}
    loose = by_resource["config:functions-without-section"]
    assert loose.status == Status.WARN and "3 of 5" in loose.reason
    assert loose.evidence["functions"] == ["cron-a", "cron-b", "cron-c"]
    assert len(loose.evidence["locations"]) == 3
    orphan = by_resource["config:sections-without-code"]
    assert orphan.status == Status.FAIL and orphan.evidence["functions"] == ["refund"]


def test_a_config_toml_that_does_not_parse_is_said_once(tmp_path) -> None:
    toml = "[functions.checkout]\nverify_jwt = true\n\n[functions.checkout]\nverify_jwt = false\n"
    found = _findings(tmp_path, toml, ["checkout", "webhook", "cron"])
    assert [(f.status, f.resource) for f in found] == [(Status.WARN, "config:supabase/config.toml")]
    assert "does not parse" in found[0].reason and "twice" in found[0].reason


def test_everything_configured_passes(tmp_path) -> None:
    toml = "[functions.a]\nverify_jwt = true\n[functions.b]\nverify_jwt = false\n"
    found = _findings(tmp_path, toml, ["a", "b"])
    assert [f.status for f in found] == [Status.PASS]
