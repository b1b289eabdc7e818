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
from tests.problems import found_keys, statuses

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
    # statuses come from write sites only: the params' active statuses are not written here
    assert "status:public.orders.paid" not in got
    w2 = pd.concat([w, w.assign(value="paid", line=4)], ignore_index=True)
    got = statuses(
        run(
            "DB-STATUS-CHECK",
            demo_config,
            {"schema_check_constraints": checks, "code_status_writes": w2},
        )
    )
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
    found = found_keys(defects_findings)
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


# --- schema expectations come from the code (issue 13 §3, §4) ------------------------------


def _status_write(table: str, value: str, column: str = "status", line: int = 3):
    return {
        "path": "supabase/functions/f/index.ts",
        "line": line,
        "function_slug": "f",
        "table": table,
        "column": column,
        "value": value,
        "method": "update",
    }


def test_status_check_reads_enum_types_and_skips_absent_columns(demo_config):
    cols = t(
        "schema_columns",
        {
            "schema": "public",
            "table": "bookings",
            "column": "status",
            "data_type": "public.booking_status",
        },
        {"schema": "public", "table": "jobs", "column": "state", "data_type": "text"},
    )
    enums = t(
        "schema_enums",
        {"schema": "public", "name": "booking_status", "values": '["pending", "paid"]'},
    )
    writes = t(
        "code_status_writes",
        _status_write("bookings", "paid"),
        _status_write("bookings", "refunded", line=4),
        _status_write("orders", "active", line=5),  # no orders table in this schema
        _status_write("jobs", "done", column="state", line=6),
    )
    got = statuses(
        run(
            "DB-STATUS-CHECK",
            demo_config,
            {
                "schema_check_constraints": t("schema_check_constraints"),
                "code_status_writes": writes,
                "schema_columns": cols,
                "schema_enums": enums,
                "schema_migrations": t("schema_migrations"),
            },
        )
    )
    assert got == {
        "status:public.bookings.paid": "pass",
        "status:public.bookings.refunded": "fail",  # the enum rejects it
        "column:public.jobs.state": "warn",  # plain text, nothing constrains it
    }


def _cols(table: str, *names: str, kind: str = "text"):
    return [{"schema": "public", "table": table, "column": n, "data_type": kind} for n in names]


def test_required_tables_are_those_the_code_uses(demo_config):
    cols = t(
        "schema_columns",
        *_cols("orders", "id", "user_id", "status", "stripe_sub_id"),
        *_cols("orders", "pterodactyl_server_id", kind="text"),
    )
    uses = t(
        "code_table_uses",
        {
            "path": "a.ts",
            "line": 1,
            "function_slug": "f",
            "table": "orders",
            "column": None,
            "use": "from",
        },
        {
            "path": "a.ts",
            "line": 2,
            "function_slug": "f",
            "table": "orders",
            "column": "stripe_sub_id",
            "use": "read",
        },
        {
            "path": "a.ts",
            "line": 3,
            "function_slug": "f",
            "table": "orders",
            "column": "pterodactyl_server_id",
            "use": "write",
        },
        {
            "path": "a.ts",
            "line": 4,
            "function_slug": "f",
            "table": "orders",
            "column": "region",
            "use": "write",
        },
        {
            "path": "b.ts",
            "line": 9,
            "function_slug": "g",
            "table": "plans",
            "column": None,
            "use": "from",
        },
    )
    found = run(
        "DB-SCHEMA-REQUIRED", demo_config, {"schema_columns": cols, "code_table_uses": uses}
    )
    got = {f.resource: (str(f.status), f.reason) for f in found}
    status, reason = got["table:public.orders"]
    assert status == "fail"
    assert "region missing (used at a.ts:4)" in reason
    assert "pterodactyl_server_id is text, expected int" in reason
    assert "stripe_subscription_id" not in reason  # the code's own name is stripe_sub_id
    assert got["table:public.plans"][0] == "fail"  # used by the code, absent
    assert got["table:public.ptero_nodes"][0] == "info"  # never used: not required here
    assert got["table:public.external_accounts"][0] == "info"


def test_required_tables_without_code_facts_keep_the_catalogue(demo_config):
    cols = t("schema_columns", *_cols("orders", "id"))
    got = statuses(run("DB-SCHEMA-REQUIRED", demo_config, {"schema_columns": cols}))
    assert got["table:public.plans"] == "fail" and got["table:public.orders"] == "fail"


def _order_writes(slug: str, method: str):
    return t(
        "code_write_errors",
        {
            "path": f"supabase/functions/{slug}/index.ts",
            "line": 40,
            "function_slug": slug,
            "table": "orders",
            "method": method,
            "on_error": "throw",
        },
    )


def test_order_unique_guard_needs_a_webhook_that_inserts(demo_config):
    from readiness.static.rules.tables import frame

    cols = t("schema_columns", *_cols("orders", "id", "stripe_session_id"))
    plain = t(
        "schema_indexes",
        {
            "schema": "public",
            "table": "orders",
            "name": "i",
            "columns": "stripe_session_id",
            "unique": False,
        },
    )
    unique = t(
        "schema_indexes",
        {
            "schema": "public",
            "table": "orders",
            "name": "u",
            "columns": "stripe_session_id",
            "unique": True,
        },
    )
    hooks = frame(
        "code_functions", [{"slug": "stripe-webhook", "path": "w.ts", "is_stripe_webhook": True}]
    )

    def check(idx, writes):
        tables = {"schema_indexes": idx, "schema_columns": cols, "code_functions": hooks}
        tables["code_write_errors"] = writes
        return statuses(run("DB-ORDER-UNIQUE-SUBSCRIPTION", demo_config, tables))

    assert check(plain, _order_writes("stripe-webhook", "insert")) == {
        "table:public.orders": "fail"
    }
    assert check(plain, _order_writes("stripe-webhook", "update")) == {
        "table:public.orders": "info"
    }
    assert check(plain, _order_writes("checkout", "insert")) == {"table:public.orders": "info"}
    assert check(unique, _order_writes("stripe-webhook", "upsert")) == {
        "table:public.orders": "pass"
    }


def test_table_uses_from_selects_writes_and_aliases():
    from readiness.static.rules.table_uses import select_columns, table_uses
    from readiness.static.ts.syntax import parse_source

    assert select_columns("id, plan:plans(name), sub:stripe_sub_id, total::text, meta->>k, *") == [
        "id",
        "stripe_sub_id",
        "total",
        "meta",
    ]
    src = b"""
    const row = { user_id: uid, ram_gb: 4 };
    await supabase.from('orders').insert(row);
    await db.from("orders").update({ status: 'active' }).eq('id', id);
    const { data } = await supabase.from('plans').select('id, stripe_price_id');
    const xs = Array.from(items);
    """
    rows = table_uses(parse_source("supabase/functions/f/index.ts", src, "f"))
    got = {(r["table"], r["column"], r["use"]) for r in rows}
    assert {
        ("orders", "user_id", "write"),
        ("orders", "ram_gb", "write"),
        ("orders", "status", "write"),
        ("plans", "stripe_price_id", "read"),
        ("plans", None, "from"),
    } <= got
    assert all(r["table"] in {"orders", "plans"} for r in rows)


def test_rls_disabled_matters_only_where_the_api_roles_hold_privileges(demo_config):
    tables = t(
        "schema_tables",
        {"schema": "public", "table": "open_t", "kind": "table", "rls_enabled": False},
        {"schema": "public", "table": "revoked_t", "kind": "table", "rls_enabled": False},
    )
    grants = t(
        "schema_grants",
        {"schema": "public", "table": "open_t", "grantee": "anon", "privilege": "SELECT"},
    )
    got = statuses(
        run("DB-RLS-ENABLED", demo_config, {"schema_tables": tables, "schema_grants": grants})
    )
    assert got == {"table:public.open_t": "fail", "table:public.revoked_t": "pass"}
    # without the grants table the check keeps failing every table with RLS off
    got = statuses(run("DB-RLS-ENABLED", demo_config, {"schema_tables": tables}))
    assert set(got.values()) == {"fail"}
