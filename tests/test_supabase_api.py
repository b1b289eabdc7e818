"""Supabase management API: the emulator's wire format and the source over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from readiness.config import AuditConfig, Secrets
from readiness.sandbox.httpbase import Fault, Knobs
from readiness.sandbox.platform_tree import materialize_platform
from readiness.sandbox.supabase_emulator import SupabaseEmulator, platform_api_data
from readiness.sources.base import SourceError
from readiness.sources.supabase_api import SCHEMAS, collect_supabase_api

TOKEN = "sbp_" + "0123456789abcdef" * 2 + "01234567"
REF = "abcdefghijklmnopqrst"
DATA = {
    "functions": [
        {
            "id": "f1",
            "slug": "stripe-webhook",
            "name": "stripe-webhook",
            "status": "ACTIVE",
            "version": 4,
            "verify_jwt": False,
            "entrypoint_path": "file:///src/index.ts",
            "created_at": 1_760_000_000_000,
            "updated_at": 1_764_000_000_000,
        },
        {
            "id": "f2",
            "slug": "checkout",
            "name": "checkout",
            "status": "ACTIVE",
            "version": 2,
            "updated_at": "2026-11-01T10:00:00Z",
        },
    ],
    "secrets": {"STRIPE_SECRET_KEY": "not-a-real-secret-value", "SITE_URL": "https://x.test"},
    "advisors": [
        {
            "name": "rls_disabled_in_public",
            "title": "RLS Disabled in Public",
            "level": "ERROR",
            "facing": "EXTERNAL",
            "categories": ["SECURITY"],
            "description": "d",
            "detail": "Table public.x",
            "remediation": "r",
            "metadata": {},
            "cache_key": "rls_disabled_in_public_public_x",
        }
    ],
}


@pytest.fixture
def emu():
    with SupabaseEmulator(DATA, [TOKEN], REF) as server:
        yield server


def config_for(url: str, *, retries: int = 1) -> tuple[AuditConfig, Secrets]:
    import os

    os.environ["TEST_SUPABASE_TOKEN"] = TOKEN
    cfg = AuditConfig.model_validate(
        {
            "sources": {
                "supabase_api": {
                    "enabled": True,
                    "url": url,
                    "token_env": "TEST_SUPABASE_TOKEN",
                    "project_ref": REF,
                    "max_retries": retries,
                    "timeout_s": 2,
                }
            }
        }
    )
    return cfg, Secrets()


def test_emulator_auth_and_shapes(emu):
    base = f"{emu.url}/v1/projects/{REF}"
    assert requests.get(f"{base}/functions", timeout=5).status_code == 401
    bad = requests.get(f"{base}/functions", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401 and bad.json() == {"message": "Unauthorized"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    other = requests.get(f"{emu.url}/v1/projects/zzz/functions", headers=auth, timeout=5)
    assert other.status_code == 403 and "privileges" in other.json()["message"]
    secrets = requests.get(f"{base}/secrets", headers=auth, timeout=5).json()
    assert {s["name"] for s in secrets} == {"STRIPE_SECRET_KEY", "SITE_URL"}
    assert all(len(s["value"]) == 64 and "secret" not in s["value"] for s in secrets)
    lints = requests.get(f"{base}/advisors/security", headers=auth, timeout=5).json()
    assert lints["lints"][0]["level"] == "ERROR"
    post = requests.post(f"{base}/functions", headers=auth, timeout=5)
    assert post.status_code == 405
    assert {r.method for r in emu.requests} == {"GET", "POST"}
    assert all(TOKEN not in r.key_fingerprint for r in emu.requests)


def test_collect_reads_typed_tables_without_secret_values(emu):
    cfg, secrets = config_for(emu.url)
    result = collect_supabase_api(cfg, secrets)
    assert set(result.tables) == set(SCHEMAS)
    for name, df in result.tables.items():
        assert list(df.columns) == list(SCHEMAS[name])
    fns = result.tables["supabase_functions"].set_index("slug")
    assert not fns.loc["stripe-webhook", "verify_jwt"]
    assert fns["verify_jwt"].isna().sum() == 1  # absent field stays unknown
    assert fns.loc["stripe-webhook", "updated_at"].year == 2025
    assert fns.loc["checkout", "updated_at"].year == 2026
    assert list(result.tables["supabase_secrets"].columns) == ["name"]
    flat = result.tables["supabase_secrets"].to_csv()
    assert "not-a-real-secret-value" not in flat
    adv = result.tables["supabase_advisors"].iloc[0]
    assert adv["categories"] == "SECURITY" and adv["level"] == "ERROR"
    assert result.requests == 3 and not result.notes


def test_advisors_404_is_a_note():
    data = {**DATA, "advisors": None}
    with SupabaseEmulator(data, [TOKEN], REF) as server:
        cfg, secrets = config_for(server.url)
        result = collect_supabase_api(cfg, secrets)
    assert result.tables["supabase_advisors"].empty
    assert any("404" in n for n in result.notes)
    assert len(result.tables["supabase_functions"]) == 2


def test_backs_off_on_429_and_500_then_succeeds():
    knobs = Knobs(
        faults=[
            Fault("/v1/projects", kind="status", status=429, times=1),
            Fault("/v1/projects", kind="status", status=503, times=1),
        ]
    )
    with SupabaseEmulator(DATA, [TOKEN], REF, knobs) as server:
        cfg, secrets = config_for(server.url, retries=2)
        result = collect_supabase_api(cfg, secrets)
    assert len(result.tables["supabase_functions"]) == 2
    assert result.requests == 5


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("/v1", kind="status", status=500), "HTTP 500"),
        (Fault("/v1", kind="malformed"), "malformed JSON"),
        (Fault("/v1", kind="drop"), "connection dropped"),
    ],
)
def test_faults_become_source_errors(fault, message):
    with SupabaseEmulator(DATA, [TOKEN], REF, Knobs(faults=[fault])) as server:
        cfg, secrets = config_for(server.url, retries=0)
        with pytest.raises(SourceError, match=message):
            collect_supabase_api(cfg, secrets)


def test_bad_token_ref_and_missing_settings(emu):
    import os

    cfg, secrets = config_for(emu.url)
    os.environ["TEST_SUPABASE_TOKEN"] = "sbp_wrong"
    with pytest.raises(SourceError, match="authentication failed") as err:
        collect_supabase_api(cfg, secrets)
    assert "sbp_wrong" not in str(err.value)
    os.environ["TEST_SUPABASE_TOKEN"] = TOKEN
    other = cfg.model_copy(
        update={
            "sources": cfg.sources.model_copy(
                update={
                    "supabase_api": cfg.sources.supabase_api.model_copy(
                        update={"project_ref": "zz"}
                    )
                }
            )
        }
    )
    with pytest.raises(SourceError, match="forbidden"):
        collect_supabase_api(other, secrets)
    no_ref = cfg.model_copy(
        update={
            "sources": cfg.sources.model_copy(
                update={
                    "supabase_api": cfg.sources.supabase_api.model_copy(
                        update={"project_ref": None}
                    )
                }
            )
        }
    )
    with pytest.raises(SourceError, match="no project ref"):
        collect_supabase_api(no_ref, secrets)
    del os.environ["TEST_SUPABASE_TOKEN"]
    with pytest.raises(SourceError, match="no access token"):
        collect_supabase_api(cfg, Secrets())


def test_platform_data_plants_drift_only_in_defects(tmp_path: Path):
    clean_dir, bad_dir = tmp_path / "clean", tmp_path / "bad"
    materialize_platform("clean", clean_dir)
    materialize_platform("defects", bad_dir)
    clean, none = platform_api_data(clean_dir, False, 1_764_000_000_000)
    bad, planted = platform_api_data(bad_dir, True, 1_764_000_000_000)
    assert none == []
    assert {d["check_id"] for d in planted} >= {"AUTH-VERIFY-JWT-DRIFT", "CONFIG-ENV-SET"}
    jwt = {f["slug"]: f["verify_jwt"] for f in clean["functions"]}
    assert jwt["stripe-webhook"] is False and jwt["create-checkout-session"] is True
    deployed = {f["slug"]: f["verify_jwt"] for f in bad["functions"]}
    assert deployed["create-checkout-session"] is False
    assert "SITE_URL" in clean["secrets"] and "SITE_URL" not in bad["secrets"]
