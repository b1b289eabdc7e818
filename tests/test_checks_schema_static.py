# ruff: noqa: E501  (code snippets and table rows read best on one line)
"""Unit tests of the Area 4 (RLS), 5, 6, 8 and 9 (migrations) checks on hand-built tables,
plus the known-answer and clean-profile tests on the shared demo runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.snapshot import Snapshot, SourceState
from readiness.sources import schema
from readiness.static.rules import audit

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MY_PREFIXES = ("SEC-RLS-", "DB-", "ERR-", "FE-", "CODE-MIGRATIONS-")


def t(name: str, *rows: dict) -> pd.DataFrame:
    if name in schema.COLUMNS:
        return schema.frame(name, list(rows))
    return audit.frame(name, list(rows))


def run(check_id: str, config, tables: dict, failed: dict | None = None):
    failed = failed or {}
    states = {
        n: SourceState(n, "error", failed[n]) if n in failed else SourceState(n, "ok")
        for n in ("database", "codebase", "schema")
    }
    return evaluate_check(REGISTRY[check_id], Snapshot(NOW, states, tables), config)


def statuses(findings) -> dict[str, str]:
    return {f.resource: str(f.status) for f in findings}


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def writes(*rows):
    base = {
        "schema": "public",
        "table": "orders",
        "allowed": True,
        "scope": "own rows",
        "how": "policy",
        "policy": "p",
    }
    return t("schema_rls_writes", *[{**base, **r} for r in rows])


def test_customer_writes(demo_config):
    bad = writes({"role": "authenticated", "command": "UPDATE", "column": "status"})
    ok = writes({"role": "authenticated", "command": "UPDATE", "column": "server_name"})
    assert statuses(run("SEC-RLS-CUSTOMER-WRITES", demo_config, {"schema_rls_writes": bad})) == {
        "table:public.orders": "fail"
    }
    assert statuses(run("SEC-RLS-CUSTOMER-WRITES", demo_config, {"schema_rls_writes": ok})) == {
        "rls:authenticated": "pass"
    }
    anon = writes({"role": "anon", "command": "INSERT", "column": "id"})
    assert statuses(run("SEC-RLS-ANON-WRITE", demo_config, {"schema_rls_writes": anon})) == {
        "table:public.orders": "fail"
    }


def test_schema_source_missing_is_not_verified(demo_config):
    f = run("SEC-RLS-ANON-WRITE", demo_config, {}, failed={"schema": "boom"})
    assert [str(x.status) for x in f] == ["not_verified"]


def test_status_check(demo_config):
    checks = t(
        "schema_check_constraints",
        {
            "schema": "public",
            "table": "orders",
            "columns": "status",
            "name": "c",
            "definition": "",
            "allowed_values": '["paid", "provisioning", "installing", "active", "provisioned", "error"]',
        },
    )
    w = t(
        "code_status_writes",
        {
            "path": "a.ts",
            "line": 3,
            "function_slug": "f",
            "table": "orders",
            "column": "status",
            "value": "failed",
            "method": "update",
        },
    )
    got = statuses(
        run(
            "DB-STATUS-CHECK",
            demo_config,
            {"schema_check_constraints": checks, "code_status_writes": w},
        )
    )
    assert got["status:public.orders.failed"] == "fail"
    assert got["status:public.orders.paid"] == "pass"


def test_unique_subscription_and_secdef(demo_config):
    cols = t("schema_columns", {"schema": "public", "table": "orders", "column": "id"})
    idx = t(
        "schema_indexes",
        {
            "schema": "public",
            "table": "orders",
            "name": "i",
            "columns": "stripe_subscription_id",
            "unique": False,
        },
    )
    assert statuses(
        run(
            "DB-ORDER-UNIQUE-SUBSCRIPTION",
            demo_config,
            {"schema_indexes": idx, "schema_columns": cols},
        )
    ) == {"table:public.orders": "fail"}
    fns = t(
        "schema_functions",
        {
            "schema": "public",
            "name": "f",
            "args": "",
            "security_definer": True,
            "search_path_set": False,
        },
    )
    assert statuses(run("DB-SECDEF-SEARCH-PATH", demo_config, {"schema_functions": fns})) == {
        "function:public.f": "fail"
    }


def test_webhook_non2xx(demo_config):
    fns = t_code_functions()
    handler = t(
        "code_handlers",
        {
            "path": "w.ts",
            "line": 1,
            "function_slug": "stripe-webhook",
            "has_try": True,
            "catch_status": 500,
        },
    )
    for on_error, want in (("throw", "pass"), ("log_only", "fail"), ("return_value", "fail")):
        we = t(
            "code_write_errors",
            {
                "path": "w.ts",
                "line": 9,
                "function_slug": "stripe-webhook",
                "table": "orders",
                "method": "insert",
                "on_error": on_error,
            },
        )
        got = run(
            "ERR-WEBHOOK-NON2XX",
            demo_config,
            {"code_functions": fns, "code_write_errors": we, "code_handlers": handler},
        )
        assert statuses(got) == {"function:stripe-webhook": want}, on_error


def t_code_functions():
    from readiness.static.rules.tables import frame

    return frame(
        "code_functions",
        [
            {
                "slug": "stripe-webhook",
                "path": "w.ts",
                "in_config": True,
                "verify_jwt": False,
                "verify_jwt_effective": False,
                "is_stripe_webhook": True,
            }
        ],
    )


def test_frontend_values(demo_config):
    vals = t(
        "code_frontend_values",
        {"path": "src/c.ts", "line": 2, "field": "region", "value": "ap-south"},
        {"path": "src/c.ts", "line": 3, "field": "region", "value": "eu-west"},
    )
    nodes = pd.DataFrame({"region": ["eu-west"], "enabled": [True]})
    got = statuses(
        run(
            "FE-VALUES-ACCEPTED",
            demo_config,
            {"code_frontend_values": vals, "db_ptero_nodes": nodes},
        )
    )
    assert got == {"region:ap-south": "fail", "region:eu-west": "pass"}


def test_migrations_replay(demo_config):
    info = t("schema_info", {"mode": "migrations", "migration_files": 1})
    m = t(
        "schema_migrations",
        {
            "file": "m.sql",
            "statement_no": 2,
            "line": 5,
            "ok": False,
            "compat": False,
            "error": "boom",
        },
    )
    assert statuses(
        run("CODE-MIGRATIONS-REPLAY", demo_config, {"schema_info": info, "schema_migrations": m})
    ) == {"migration:m.sql#2": "fail"}


# --- known answers on the shared demo runs -------------------------------------------------


@pytest.mark.integration
@pytest.mark.xdist_group("sandbox")
def test_every_planted_static_defect_of_these_areas_is_found(defects_sandbox, defects_findings):
    found = {
        (f["check_id"], f["resource"]) for f in defects_findings if f["status"] in ("fail", "warn")
    }
    planted = [
        d for d in defects_sandbox.manifest()["defects"] if d["check_id"].startswith(MY_PREFIXES)
    ]
    assert len(planted) >= 23
    missed = [d["defect_id"] for d in planted if (d["check_id"], d["resource"]) not in found]
    assert not missed, missed


@pytest.mark.integration
@pytest.mark.xdist_group("sandbox")
def test_clean_profile_has_no_failure_in_these_areas(clean_audit):
    snapshot, findings = clean_audit
    assert snapshot.sources["schema"].ok, snapshot.sources["schema"]
    bad = [
        (f.check_id, f.resource, f.reason)
        for f in findings
        if f.check_id.startswith(MY_PREFIXES) and str(f.status) in ("fail", "not_verified")
    ]
    assert not bad, bad


def _mig(no: int, line: int, ok: bool, compat: bool = False, cascade: bool = False, **kw):
    return {"file": kw.pop("file", "m.sql"), "statement_no": no, "line": line, "ok": ok,
            "compat": compat, "cascade": cascade, "error": None if ok else "boom", **kw}  # fmt: skip


def test_migrations_replay_folds_cascades_into_the_first_failure(demo_config):
    info = t("schema_info", {"mode": "migrations", "migration_files": 2})
    m = t(
        "schema_migrations",
        _mig(1, 1, True),
        _mig(2, 4, False, compat=True, platform="an extension"),  # before: not verified
        _mig(3, 9, False),
        _mig(4, 12, False, cascade=True, caused=True),
        _mig(1, 1, False, cascade=True, file="n.sql"),
        _mig(2, 3, False, cascade=True, file="n.sql", error='syntax error at or near "not"'),
    )
    files = t(
        "schema_migration_files",
        {"file": "m.sql", "version": "1", "status": "failed"},
        {"file": "n.sql", "version": "2", "status": "not_applied"},
    )
    tables = {"schema_info": info, "schema_migrations": m, "schema_migration_files": files}
    found = run("CODE-MIGRATIONS-REPLAY", demo_config, tables)
    assert statuses(found) == {"migration:m.sql#3": "fail", "migrations:platform": "not_verified"}
    fail = next(f for f in found if str(f.status) == "fail")
    assert fail.location == "m.sql:9" and "1 later migration file(s)" in fail.reason
    assert fail.evidence["later_failures"] == 3
    # a syntax error first, then what no missing object explains, then the cascades
    assert [e.split(": ")[0] for e in fail.evidence["later"]] == ["n.sql:3", "n.sql:1", "m.sql:12"]
    assert "1 syntax error(s), 1 other(s)" in fail.reason


def test_migrations_replay_platform_only_and_skipped_files_never_fail(demo_config):
    info = t("schema_info", {"mode": "migrations", "migration_files": 1})
    m = t("schema_migrations", _mig(1, 2, False, compat=True), _mig(2, 5, True))
    files = t(
        "schema_migration_files",
        {"file": "20240101_a.sql", "version": "20240101", "status": "applied"},
        {"file": "20240102-b.sql", "status": "skipped"},
    )
    tables = {"schema_info": info, "schema_migrations": m, "schema_migration_files": files}
    assert statuses(run("CODE-MIGRATIONS-REPLAY", demo_config, tables)) == {
        "migrations:skipped": "warn",
        "migrations:platform": "not_verified",
        "migrations": "pass",
    }
