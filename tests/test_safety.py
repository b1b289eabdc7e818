"""Read-only, secret-safe, atomic and escaped: the promises an audit tool must keep.

- the database session refuses writes, even through a superuser DSN;
- distinctive canary secrets never reach outputs, console output or logs (nor base64);
- a run killed mid-way leaves no dated folder and no damaged earlier one;
- a database missing tables or columns gives `not_verified` naming them, not a crash;
- hostile values from the audited systems are escaped in the rendered report.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
import yaml
from tree_hash import tree_hash

from readiness.checks.registry import evaluate
from readiness.cli import main
from readiness.config import load_config
from readiness.findings import Status
from readiness.sandbox.dataset import DatasetSize
from readiness.sandbox.runtime import Sandbox
from readiness.snapshot import collect
from readiness.sources.database import _engine

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("safety")]
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with Sandbox(
        tmp_path_factory.mktemp("sb-safety"),
        profile="defects",
        size=DatasetSize(users=10, orders=16, nodes=3),
    ) as sb:
        with psycopg2.connect(sb._pg.get_uri()) as conn, conn.cursor() as cur:
            cur.execute("UPDATE plans SET display_name = %s WHERE id = 'minecraft-2gb'", (HOSTILE,))
            cur.execute(
                "INSERT INTO plans (id, game, ram_gb, price_cents, stripe_price_id) "
                "VALUES (%s, 'minecraft', 3, 100, 'price_hostile_x')",
                (HOSTILE,),
            )
        yield sb


def test_database_session_refuses_writes_even_as_superuser(platform):
    engine = _engine(platform._pg.get_uri(), statement_timeout_s=5, connect_timeout_s=5)
    with engine.connect() as conn:
        for sql in (
            "UPDATE plans SET active = false",
            "DELETE FROM orders",
            "CREATE TABLE x (id int)",
        ):
            with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
                conn.exec_driver_sql(sql)
            conn.rollback()
    engine.dispose()


def test_canary_secrets_never_leak(platform, tmp_path, monkeypatch, capsys, caplog):
    """Wrong-but-distinctive credentials drive every source's error path; none of the
    values (nor their base64) may appear in the published run, the console or the logs."""
    canaries = {
        "READINESS_STRIPE_KEY": "rk_live_CANARY-stripe-0123456789",
        "READINESS_STRIPE_TEST_KEY": "sk_test_CANARY-test-0123456789",
        "READINESS_PANEL_KEY": "ptla_CANARYpanel" + "9" * 32,
        "READINESS_DATABASE_URL": "postgresql://auditor:CANARYdbpass42@127.0.0.1:9/postgres",
    }
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    code = main(["run", "--params", str(platform.params_file), "--output-dir", str(out)])
    assert code in (1, 3)
    captured = capsys.readouterr()
    folders = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    needles = [v for v in canaries.values()] + ["CANARYdbpass42"]
    needles += [base64.b64encode(v.encode()).decode() for v in needles]
    for path in folders[0].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for n in needles:
                assert n.encode() not in data, (path, n)
    for text in (captured.out, captured.err, caplog.text):
        for n in needles:
            assert n not in text
    report = (folders[0] / "readiness-report.html").read_text()
    assert "stripe" in report and "authentication failed" in report


def test_killed_run_leaves_no_dated_folder(platform, tmp_path):
    out = tmp_path / "out"
    earlier = out / "2026-01-01"
    earlier.mkdir(parents=True)
    (earlier / "findings.json").write_text('{"kept": true}')
    before = tree_hash(earlier)
    exe = Path(sys.executable).with_name("readiness")
    proc = subprocess.Popen(
        [str(exe), "run", "--params", str(platform.params_file), "--output-dir", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob(".staging-*/evidence/*.parquet")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(out.glob(".staging-*")), "the run was killed before it wrote anything"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["2026-01-01"]
    assert tree_hash(earlier) == before
    # the next run removes the abandoned staging folder of the killed process
    from readiness.runner import remove_abandoned_staging

    remove_abandoned_staging(out)
    assert not list(out.glob(".staging-*"))


def _database_with(platform, name: str, ddl: str) -> str:
    admin = platform._pg.get_uri()
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    uri = admin.replace("/postgres?", f"/{name}?")
    with psycopg2.connect(uri) as conn, conn.cursor() as cur:
        if ddl:
            cur.execute(ddl)
    return platform.env["READINESS_DATABASE_URL"].replace("/postgres?", f"/{name}?")


@pytest.mark.parametrize(
    "name,ddl,expect",
    [
        ("empty", "", "was not collected"),
        (
            "no_price_column",
            "CREATE TABLE public.plans (id text primary key, game text, ram_gb int, "
            "active bool default true, item_type text default 'game');"
            "INSERT INTO plans (id, game, ram_gb) VALUES ('minecraft-1gb', 'minecraft', 1);",
            "lacks column(s): stripe_price_id",
        ),
    ],
)
def test_broken_database_gives_not_verified(platform, tmp_path, monkeypatch, name, ddl, expect):
    dsn = _database_with(platform, name, ddl)
    monkeypatch.setenv("READINESS_DATABASE_URL", dsn)
    config = load_config(platform.params_file)
    snapshot = collect(config)
    assert snapshot.sources["database"].ok
    findings = evaluate(snapshot, config, areas=[1])
    placeholder = [f for f in findings if f.check_id == "STRIPE-PRICE-PLACEHOLDER"]
    assert [f.status for f in placeholder] == [Status.NOT_VERIFIED]
    assert expect in placeholder[0].reason
    if name == "empty":
        assert "public.plans does not exist" in placeholder[0].reason


def test_hostile_values_are_escaped_in_the_report(platform, tmp_path, monkeypatch):
    out = tmp_path / "out"
    params = yaml.safe_load(platform.params_file.read_text())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    main(["run", "--params", str(path), "--output-dir", str(out)])
    folder = next(p for p in out.iterdir() if not p.name.startswith("."))
    for name in ("readiness-report.html", "01_stripe_pricing.html"):
        html = (folder / name).read_text()
        assert "&lt;img src=x onerror" in html, name
        assert '<img src=x onerror="alert(1)">' not in html, name
        assert "<script>alert(2)</script>" not in html, name
