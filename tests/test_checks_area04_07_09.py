"""Areas 4, 7, 9: checks on hand-built tables, then the demo platform (known answers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from readiness.checks.area07_config import concept
from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Status
from readiness.snapshot import Snapshot, SourceState
from readiness.static.rules.tables import TABLES, frame
from tests.problems import found_keys


def snap(tables: dict[str, pd.DataFrame], api: bool = True) -> Snapshot:
    states = {"codebase": SourceState("codebase", "ok")}
    states["supabase_api"] = SourceState("supabase_api", "ok" if api else "disabled")
    full = {name: frame(name, []) for name in TABLES}
    full.update(tables)
    return Snapshot(datetime(2026, 11, 26, tzinfo=UTC), states, full)


def run(check_id: str, snapshot: Snapshot, config) -> dict[str, tuple[str, str | None]]:
    """Status and location by resource: each problem's, and each of its locations'."""
    all_checks()
    out: dict[str, tuple[str, str | None]] = {}
    for f in evaluate_check(REGISTRY[check_id], snapshot, config):
        for loc in f.locations:
            out.setdefault(loc.resource, (loc.status.value, loc.location))
        out[f.resource] = (f.status.value, f.location)
    return out


FUNCS = frame(
    "code_functions",
    [
        {
            "slug": "hook",
            "path": "supabase/functions/hook/index.ts",
            "in_config": True,
            "verify_jwt": False,
            "verify_jwt_effective": False,
            "is_stripe_webhook": True,
        },
        {
            "slug": "buy",
            "path": "supabase/functions/buy/index.ts",
            "in_config": True,
            "verify_jwt": True,
            "verify_jwt_effective": True,
            "is_stripe_webhook": False,
        },
    ],
)


def test_verify_jwt_drift_and_needs_the_api(demo_config):
    deployed = pd.DataFrame(
        {
            "slug": ["hook", "buy", "ghost"],
            "verify_jwt": [False, False, True],
            "status": ["ACTIVE"] * 3,
        }
    )
    got = run(
        "AUTH-VERIFY-JWT-DRIFT",
        snap({"code_functions": FUNCS, "supabase_functions": deployed}),
        demo_config,
    )
    assert got["function:hook"][0] == "pass"
    assert got["function:buy"] == ("fail", "supabase/functions/buy/index.ts:1")
    assert got["function:ghost"][0] == "warn"
    offline = run("AUTH-VERIFY-JWT-DRIFT", snap({"code_functions": FUNCS}, api=False), demo_config)
    assert list(offline.values())[0][0] == "not_verified"


def test_nojwt_service_role_needs_a_caller_check(demo_config):
    files = frame(
        "code_function_files",
        [
            {"function_slug": "hook", "path": "supabase/functions/hook/index.ts", "via": "own"},
            {
                "function_slug": "hook",
                "path": "supabase/functions/_shared/admin.ts",
                "via": "import",
            },
        ],
    )
    reads = frame(
        "code_env_reads",
        [
            {
                "path": "supabase/functions/_shared/admin.ts",
                "line": 3,
                "name": "SUPABASE_SERVICE_ROLE_KEY",
            }
        ],
    )
    tables = {"code_functions": FUNCS, "code_function_files": files, "code_env_reads": reads}
    got = run("AUTH-NOJWT-SERVICE-ROLE", snap(tables), demo_config)
    assert got["function:hook"] == ("fail", "supabase/functions/_shared/admin.ts:3")
    facts = frame(
        "code_auth_facts",
        [
            {
                "path": "supabase/functions/hook/index.ts",
                "line": 9,
                "fact": "caller_check",
                "kind": "signature",
            }
        ],
    )
    got = run("AUTH-NOJWT-SERVICE-ROLE", snap({**tables, "code_auth_facts": facts}), demo_config)
    assert got["function:hook"][0] == "pass"


def test_env_set_documented_aliases_and_fallbacks(demo_config):
    files = frame(
        "code_files",
        [
            {"path": "supabase/functions/a/index.ts", "kind": "function"},
            {"path": "src/x.ts", "kind": "frontend"},
        ],
    )
    reads = frame(
        "code_env_reads",
        [
            {
                "path": "supabase/functions/a/index.ts",
                "line": 1,
                "name": "PANEL_URL",
                "fallback": "http://localhost",
                "fallback_expr": "'http://localhost'",
            },
            {"path": "supabase/functions/a/index.ts", "line": 2, "name": "PTERODACTYL_URL"},
            {
                "path": "supabase/functions/a/index.ts",
                "line": 3,
                "name": "HOOK_SECRET",
                "fallback": "",
                "fallback_expr": "''",
            },
            {"path": "supabase/functions/a/index.ts", "line": 4, "name": "SUPABASE_URL"},
            {"path": "src/x.ts", "line": 1, "name": "VITE_SUPABASE_URL"},
        ],
    )
    secrets = pd.DataFrame({"name": ["PTERODACTYL_URL", "HOOK_SECRET"]}, dtype="string")
    docs = frame(
        "code_env_file_entries",
        [{"path": ".env.example", "line": 1, "name": "VITE_SUPABASE_URL", "has_value": False}],
    )
    tables = {
        "code_files": files,
        "code_env_reads": reads,
        "supabase_secrets": secrets,
        "code_env_file_entries": docs,
    }
    got = run("CONFIG-ENV-SET", snap(tables), demo_config)
    assert got["env:PANEL_URL"][0] == "fail" and got["env:PTERODACTYL_URL"][0] == "pass"
    assert got["env:SUPABASE_URL"][0] == "pass" and "env:VITE_SUPABASE_URL" not in got
    doc = run("CONFIG-ENV-DOCUMENTED", snap(tables), demo_config)
    assert doc["env:VITE_SUPABASE_URL"][0] == "pass" and doc["env:HOOK_SECRET"][0] == "fail"
    alias = run("CONFIG-ENV-ALIASES", snap(tables), demo_config)
    assert alias["setting:PANEL_URL,PTERODACTYL_URL"][0] == "fail"
    fb = run("CONFIG-ENV-FALLBACK", snap(tables), demo_config)
    assert fb["env-fallback:supabase/functions/a/index.ts:HOOK_SECRET"][0] == "fail"
    assert fb["env-fallback:supabase/functions/a/index.ts:PANEL_URL"][0] == "warn"
    assert concept("STRIPE_SECRET_KEY") != concept("STRIPE_WEBHOOK_SECRET")
    assert concept("PTERODACTYL_API_KEY") == concept("PANEL_KEY")


def test_hardcoded_secret_severity_and_anon_keys(demo_config):
    rows = frame(
        "code_secrets",
        [
            {
                "path": "s.sh",
                "line": 2,
                "kind": "stripe-secret-key",
                "fingerprint": "aaa",
                "is_live": False,
            },
            {
                "path": "k.ts",
                "line": 1,
                "kind": "supabase-jwt",
                "fingerprint": "bbb",
                "role": "service_role",
            },
            {
                "path": "src/a.ts",
                "line": 1,
                "kind": "supabase-jwt",
                "fingerprint": "ccc",
                "role": "anon",
            },
        ],
    )
    all_checks()
    found = {
        f.resource: f
        for f in evaluate_check(
            REGISTRY["CONFIG-HARDCODED-SECRET"], snap({"code_secrets": rows}), demo_config
        )
    }
    # one problem per key (by fingerprint); the file is its location
    assert set(found) == {"secret:stripe-secret-key:aaa", "secret:supabase-jwt:bbb"}
    assert str(found["secret:stripe-secret-key:aaa"].severity) == "high"
    assert str(found["secret:supabase-jwt:bbb"].severity) == "critical"
    assert "bbb" in found["secret:supabase-jwt:bbb"].reason
    assert [loc.resource for loc in found["secret:supabase-jwt:bbb"].locations] == [
        "secret:supabase-jwt:k.ts"
    ]


def test_one_key_committed_in_several_files_is_one_problem(demo_config):
    """The same key in a script, a doc and an env example is one key to rotate: one
    finding, each file a location; a different key of the same kind stays apart."""

    def leak(path: str, line: int, fingerprint: str) -> dict:
        return {
            "path": path,
            "line": line,
            "kind": "stripe-secret-key",
            "fingerprint": fingerprint,
            "is_live": True,
        }

    rows = frame(
        "code_secrets",
        [
            leak("scripts/seed.sh", 4, "f1"),
            leak("docs/setup.md", 12, "f1"),
            leak("docs/setup.md", 30, "f1"),
            leak(".env.example", 2, "f1"),
            leak("scripts/other.sh", 1, "f2"),
        ],
    )
    all_checks()
    found = evaluate_check(
        REGISTRY["CONFIG-HARDCODED-SECRET"], snap({"code_secrets": rows}), demo_config
    )
    by = {f.resource: f for f in found}
    assert set(by) == {"secret:stripe-secret-key:f1", "secret:stripe-secret-key:f2"}
    key = by["secret:stripe-secret-key:f1"]
    assert key.status.value == "fail" and str(key.severity) == "critical"
    assert sorted(loc.location for loc in key.locations) == [
        ".env.example:2",
        "docs/setup.md:12",
        "scripts/seed.sh:4",
    ]
    assert "2 more location(s)" in key.reason
    assert len(by["secret:stripe-secret-key:f2"].locations) == 1


# --- the demo platform -----------------------------------------------------------------------

MY_AREAS = (4, 7, 9)


def _mine(check_id: str) -> bool:
    return check_id.split("-")[0] in {"AUTH", "CONFIG", "QUALITY"}


@pytest.mark.integration
@pytest.mark.xdist_group("sandbox")
def test_every_planted_area_4_7_9_defect_is_found(defects_sandbox, defects_findings):
    found = found_keys(defects_findings)
    planted = [d for d in defects_sandbox.manifest()["defects"] if _mine(d["check_id"])]
    assert len(planted) >= 27
    missed = [
        (d["check_id"], d["resource"])
        for d in planted
        if (d["check_id"], d["resource"]) not in found
    ]
    assert not missed, missed
    for f in defects_findings:
        if _mine(f["check_id"]) and f["status"] in ("fail", "warn") and f["area"] != 4:
            assert f["location"] or f["resource"].startswith(("setting:", "env:", "advisor:"))


@pytest.mark.integration
@pytest.mark.xdist_group("sandbox")
def test_clean_platform_has_no_fail_in_areas_4_7_9(clean_audit):
    snapshot, findings = clean_audit
    assert snapshot.sources["supabase_api"].ok, snapshot.sources["supabase_api"]
    mine = [f for f in findings if f.area in MY_AREAS and _mine(f.check_id)]
    bad = [(f.check_id, f.resource, f.reason) for f in mine if f.status == Status.FAIL]
    assert not bad, bad
    unverified = [(f.check_id, f.reason) for f in mine if f.status == Status.NOT_VERIFIED]
    assert not unverified, unverified


@pytest.mark.integration
def test_static_only_audit_of_the_sample_checkout(tmp_path):
    """Database, Stripe and panel disabled: their checks not_verified, areas 4/7/9 run."""
    import time

    import yaml

    from readiness.config import load_config
    from readiness.runner import run_audit
    from readiness.sandbox.platform_tree import materialize_platform
    from readiness.sandbox.runtime import REPO_PARAMS

    materialize_platform("defects", tmp_path / "platform")
    params = yaml.safe_load((REPO_PARAMS / "demo.yaml").read_text())
    params.pop("env_file", None)
    params["catalog_file"] = str(REPO_PARAMS / "expected_catalog.yaml")
    for name in ("database", "stripe", "pterodactyl", "supabase_api"):
        params["sources"][name] = {"enabled": False}
    params["sources"]["codebase"] = {"path": str(tmp_path / "platform")}
    params["sources"]["schema"] = {"enabled": False}
    (tmp_path / "static.yaml").write_text(yaml.safe_dump(params))
    started = time.monotonic()
    result = run_audit(load_config(tmp_path / "static.yaml"), tmp_path / "out", notebooks=False)
    seconds = time.monotonic() - started
    import json

    findings = json.loads((result.folder / "findings.json").read_text())["findings"]
    by_check: dict[str, set[str]] = {}
    for f in findings:
        by_check.setdefault(f["check_id"], set()).add(f["status"])
    static_ids = [c.id for c in all_checks(MY_AREAS) if _mine(c.id) and c.sources == ("codebase",)]
    assert len(static_ids) >= 15
    for check_id in static_ids:
        assert "not_verified" not in by_check[check_id], check_id
    assert by_check["AUTH-VERIFY-JWT-DRIFT"] == {"not_verified"}
    assert by_check["STRIPE-ACCOUNT-LIVE"] == {"not_verified"}
    assert {"fail"} <= by_check["CONFIG-HARDCODED-SECRET"]
    assert seconds < 60, seconds
