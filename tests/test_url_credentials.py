"""Credentials inside the configured URLs (`user:password@`, `?token=…`, a DSN's
password) never reach a reason, the console or an output file, and the publish scan
refuses a run whose outputs hold one."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from readiness.cli import main
from readiness.config import load_config
from readiness.redact import scrub, sensitive_values, url_secrets
from readiness.runner import PublishError, run_audit, scan_for_secrets
from readiness.sandbox.dataset import DatasetSize
from readiness.sandbox.runtime import Sandbox

# obviously fake values, built at runtime
PASSWORD = "Pw" + "Fake" + "x9Kq" + "Zt7L"
TOKEN = "tok" + "Fake" + "Ab12Cd34"
CLOSED = "127.0.0.1:9"  # discard port: nothing listens there on loopback
FAST = {"timeout_s": 0.5, "max_retries": 1, "max_seconds": 4}


# --- scrub: pure text ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
            f"/api?token={TOKEN}&page=2 (Caused by NewConnectionError('refused'))",
            "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
            "/api?token=***&page=2 (Caused by NewConnectionError('refused'))",
        ),
        (
            f"pterodactyl: could not connect to http://admin:{PASSWORD}@panel.example.test:8080",
            "pterodactyl: could not connect to http://admin:***@panel.example.test:8080",
        ),
        ("postgresql://u:p@h/db", "postgresql://u:***@h/db"),
        ("see http://u:p@ss@host/x@y", "see http://u:***@host/x@y"),  # '@' left unencoded
        (
            f"GET https://api.example.test/v1?apikey={TOKEN}&access_token=a1&sig=zz&key=k9&q=ok",
            "GET https://api.example.test/v1?apikey=***&access_token=***&sig=***&key=***&q=ok",
        ),
        (
            f"host=db port=5432 password={PASSWORD} sslpassword='a b' dbname=x",
            "host=db port=5432 password=*** sslpassword=*** dbname=x",
        ),
    ],
)
def test_scrub_removes_url_credentials(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pterodactyl: rate limited (429) on /api/application/users after 3 retries",
        "database: query failed: Key (id)=(5) already exists; statement_timeout=5000",
        "postgresql://readiness_auditor@/postgres?host=/tmp/pg",  # a user name is no secret
        "stripe: could not connect to http://127.0.0.1:9",
        "",
    ],
)
def test_scrub_leaves_text_without_credentials_alone(text):
    assert scrub(text) == text


def test_scrub_replaces_known_values_longest_first_and_skips_trivial_ones():
    text = f"auth admin:{PASSWORD} then {PASSWORD} and ab"
    assert scrub(text, [PASSWORD, f"admin:{PASSWORD}", "ab", None]) == "auth *** then *** and ab"


def test_url_secrets_takes_every_form():
    encoded = quote(PASSWORD + "@/", safe="")
    found = url_secrets(f"http://admin:{encoded}@h:1/p?token={TOKEN}&page=1")
    assert {encoded, PASSWORD + "@/", f"admin:{PASSWORD}@/", TOKEN} <= set(found)
    assert "1" not in found and "admin" not in found
    assert set(url_secrets("postgresql://u@h/db?sslpassword=" + TOKEN)) == {TOKEN}
    assert url_secrets(None) == [] and url_secrets("http://h/p") == []


def test_sensitive_values_cover_every_configured_endpoint(tmp_path, monkeypatch):
    (tmp_path / "cat.yaml").write_text("games: {}\n")
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump(
            {
                "catalog_file": "cat.yaml",
                "sources": {
                    "pterodactyl": {"url": f"http://admin:{PASSWORD}@panel"},
                    "stripe": {"api_base_env": "T_STRIPE_BASE"},
                    "supabase_api": {"url_env": "T_MGMT_URL"},
                    "database": {"dsn_env": "T_DSN"},
                },
                "supabase": {"project_url": "https://svc:projpass1@ref.supabase.co"},
            }
        )
    )
    monkeypatch.setenv("T_STRIPE_BASE", f"http://stripe?token={TOKEN}")
    monkeypatch.setenv("T_MGMT_URL", "http://m:mgmtpass1@mgmt")
    monkeypatch.setenv("T_DSN", "host=db password=dsnpass11")
    values = set(sensitive_values(load_config(tmp_path / "p.yaml")))
    assert {PASSWORD, f"admin:{PASSWORD}", TOKEN, "mgmtpass1", "projpass1", "dsnpass11"} <= values
    assert "host=db password=dsnpass11" in values  # the DSN as a whole, as before


def test_scan_finds_url_password_raw_and_as_basic_auth(tmp_path):
    (tmp_path / "a.json").write_text('{"reason": "x"}')
    (tmp_path / "b.txt").write_text(f"Authorization: Basic {_b64(f'admin:{PASSWORD}')}")
    (tmp_path / "c.txt").write_text(f"tail {PASSWORD}")
    needles = url_secrets(f"http://admin:{PASSWORD}@h")
    assert sorted(scan_for_secrets(tmp_path, needles)) == ["b.txt", "c.txt"]
    # a short password alone is not scanned for (it would match ordinary text) ...
    assert scan_for_secrets(tmp_path, url_secrets("http://admin:x@h")) == []


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- end to end: a real run against the demo platform ---------------------------------


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with Sandbox(
        tmp_path_factory.mktemp("sb-urlcreds"),
        profile="clean",
        size=DatasetSize(users=8, orders=10, nodes=2),
    ) as sb:
        yield sb


def _params(platform: Sandbox, tmp_path: Path, **changes) -> Path:
    params = yaml.safe_load(platform.params_file.read_text())
    for source in ("stripe", "pterodactyl", "supabase_api"):
        params["sources"][source].update(FAST)
    params["sources"]["database"].update({"connect_timeout_s": 2})
    params["sources"]["schema"] = {"enabled": False}
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = params
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    out = tmp_path / "params.yaml"
    out.write_text(yaml.safe_dump(params))
    return out


CASES = {
    "panel-userinfo": (
        {"sources.pterodactyl.url": f"http://admin:{PASSWORD}@{CLOSED}"},
        {},
        ("pterodactyl", f"could not connect to http://admin:***@{CLOSED}"),
    ),
    "stripe-query-token": (
        {"sources.stripe.api_base": f"http://{CLOSED}/?token={TOKEN}"},
        {},
        ("stripe", f"could not connect to http://{CLOSED}/?token=***"),
    ),
    "mgmt-url-from-env": (
        {},
        {"READINESS_SUPABASE_API_URL": f"http://svc:{PASSWORD}@{CLOSED}?access_token={TOKEN}"},
        ("supabase_api", f"could not connect to http://svc:***@{CLOSED}?access_token=***"),
    ),
    "dsn-password": (
        {},
        {"READINESS_DATABASE_URL": f"postgresql://auditor:{PASSWORD}@{CLOSED}/postgres"},
        ("database", "database:"),
    ),
}


@pytest.mark.integration
@pytest.mark.xdist_group("urlcreds")
@pytest.mark.parametrize("case", list(CASES))
def test_url_credentials_never_reach_outputs(platform, tmp_path, monkeypatch, capfd, case):
    changes, env, (source, reason) = CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    params = _params(platform, tmp_path, **changes)
    out = tmp_path / "out"
    code = main(["run", "--params", str(params), "--no-notebooks", "--output-dir", str(out)])
    assert code in (1, 3)
    console = capfd.readouterr()
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"run.json", "findings.json", "findings.csv", "junit.xml", "findings.sarif"} <= names
    assert "evidence/manifest.json" in names and any(n.endswith(".parquet") for n in names)
    needles = [PASSWORD, TOKEN, _b64(PASSWORD), _b64(TOKEN), _b64(f"admin:{PASSWORD}")]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [n for n in needles if n.encode() in data], path.name
    for text in (console.out, console.err):
        assert not [n for n in needles if n in text]
    # the reason still says what failed, with the credentials masked
    manifest = json.loads((folder / "evidence" / "manifest.json").read_text())
    state = manifest["sources"][source]
    assert state["status"] == "error" and reason in state["reason"], state["reason"]


@pytest.mark.integration
@pytest.mark.xdist_group("urlcreds")
def test_publish_refuses_outputs_holding_the_url_password(platform, tmp_path):
    """The audit name is copied into run.json and findings.json: with the panel URL's
    password in it, the scan must refuse to publish, and nothing is left behind."""
    params = _params(
        platform,
        tmp_path,
        **{
            "name": f"audit {PASSWORD}",
            "sources.pterodactyl.url": f"http://admin:{PASSWORD}@{CLOSED}",
        },
    )
    out = tmp_path / "out"
    with pytest.raises(PublishError) as exc:
        run_audit(load_config(params), out, notebooks=False)
    assert "findings.json" in str(exc.value) and "run.json" in str(exc.value)
    assert PASSWORD not in str(exc.value)
    assert list(out.iterdir()) == [], "no dated folder and no staging folder remain"
