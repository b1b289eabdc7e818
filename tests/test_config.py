"""Params validation: clear errors naming the key, never echoing values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from readiness.config import ConfigError, Secrets, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, data: dict | str) -> Path:
    (tmp_path / "cat.yaml").write_text((REPO / "params" / "expected_catalog.yaml").read_text())
    p = tmp_path / "params.yaml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def test_shipped_params_validate():
    demo = load_config(REPO / "params" / "demo.yaml")
    assert demo.catalog and len(demo.catalog.expected_plans) == 37
    prod = load_config(REPO / "params" / "production.example.yaml")
    assert prod.environment == "production"


@pytest.mark.parametrize(
    "data,needle",
    [
        (
            {"catalog_file": "cat.yaml", "sources": {"stripe": {"api_kee_env": "X"}}},
            "sources.stripe.api_kee_env: unknown key",
        ),
        (
            {"catalog_file": "cat.yaml", "sources": {"stripe": {"timeout_s": "soon"}}},
            "sources.stripe.timeout_s",
        ),
        ({"catalog_file": "cat.yaml", "environment": "prod"}, "environment"),
        ({"catalog_file": "missing.yaml"}, "catalog file not found"),
        ("sources: [1, 2", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ({"catalog_file": "cat.yaml", "catalog": {}}, "catalog: unknown key"),
    ],
)
def test_bad_params_name_the_key(tmp_path, data, needle):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, data))
    assert needle in str(exc.value)


def test_secret_pasted_into_params_is_rejected_without_echo(tmp_path):
    value = "sk_live_" + "Z" * 24
    with pytest.raises(ConfigError) as exc:
        load_config(
            write(
                tmp_path,
                {"catalog_file": "cat.yaml", "sources": {"stripe": {"api_key_env": value}}},
            )
        )
    assert "NAME of an environment variable" in str(exc.value)
    assert value not in str(exc.value)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        load_config(tmp_path / "nope.yaml")


def test_secrets_from_env_then_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / "x.env"
    env_file.write_text("A_NAME=from-file\nB_NAME=file-b\n")
    monkeypatch.setenv("A_NAME", "from-env")
    s = Secrets(env_file)
    assert s.get("A_NAME") == "from-env"
    assert s.get("B_NAME") == "file-b"
    assert s.get("C_NAME") is None and s.get(None) is None


def test_relative_paths_resolve_against_params_file(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            {
                "catalog_file": "cat.yaml",
                "env_file": "e.env",
                "sources": {"codebase": {"path": "../platform"}},
            },
        )
    )
    assert cfg.env_file == tmp_path / "e.env"
    assert cfg.sources.codebase.path == (tmp_path.parent / "platform").resolve()


def test_claims_file_resolves_against_params_file_and_defaults_to_the_seeds(tmp_path):
    from readiness.checks.registry import all_checks
    from readiness.report.claims import CLAIMS_FILE, load_claims

    cfg = load_config(write(tmp_path, {"catalog_file": "cat.yaml", "claims_file": "c/ours.yaml"}))
    assert cfg.claims_file == tmp_path / "c" / "ours.yaml"
    default = load_config(write(tmp_path, {"catalog_file": "cat.yaml"}))
    assert default.claims_file is None
    # absent: the seed's claims shipped in the package, which the demo uses
    assert CLAIMS_FILE.is_file()
    seed = load_claims(default.claims_file, all_checks())
    assert "all-plans-live" in {c.id for c in seed}
    assert load_config(REPO / "params" / "demo.yaml").claims_file is None


def test_claims_file_key_is_validated_strictly(tmp_path):
    with pytest.raises(ConfigError, match="claims_fil: unknown key"):
        load_config(write(tmp_path, {"catalog_file": "cat.yaml", "claims_fil": "x.yaml"}))
