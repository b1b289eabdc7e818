"""The schema source on real embedded Postgres: migrations mode (including a broken
statement and a missing extension) and live mode against the demo sandbox database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from readiness.config import load_config
from readiness.sources.base import SourceError
from readiness.sources.schema import collect_schema, resolve_mode

REPO = Path(__file__).resolve().parents[1]

MIGRATION_1 = """
create extension if not exists "uuid-ossp";
create extension if not exists "not_a_real_extension";
begin;
create table public.orders (
  id uuid primary key default uuid_generate_v4(),
  user_id uuid references auth.users (id),
  status text not null check (status in ('paid', 'error')),
  subscription text
);
commit;
create unique index on public.orders (subscription);
"""
MIGRATION_2 = """
alter table public.orders enable row level security;
create policy "own" on public.orders for update to authenticated using (user_id = auth.uid());
create index broken_idx on public.orders (no_such_column);
create policy "anyone" on public.orders for insert with check (auth.uid() is null or true);
create function public.f() returns int language sql security definer as 'select 1';
"""


def _config(tmp_path: Path, mode: str = "auto"):
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={
            "codebase": base.sources.codebase.model_copy(update={"path": tmp_path}),
            "schema_": base.sources.schema_.model_copy(update={"mode": mode}),
        }
    )
    return base.model_copy(update={"sources": sources})


def test_migrations_mode_reports_broken_statements_and_continues(tmp_path):
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    (mig / "001_init.sql").write_text(MIGRATION_1)
    (mig / "002_rls.sql").write_text(MIGRATION_2)
    config = _config(tmp_path)
    assert resolve_mode(config)[0] == "migrations"
    start = time.monotonic()
    result = collect_schema(config, config.secrets())
    assert time.monotonic() - start < 30
    t = result.tables
    failed = t["schema_migrations"][~t["schema_migrations"]["ok"].astype(bool)]
    assert list(zip(failed["file"], failed["statement_no"], failed["compat"], strict=True)) == [
        ("supabase/migrations/001_init.sql", 1, True),  # uuid-ossp: not bundled, stubbed
        ("supabase/migrations/001_init.sql", 2, True),
        ("supabase/migrations/002_rls.sql", 3, False),
    ]
    assert "no_such_column" in failed.iloc[2]["error"]
    assert failed.iloc[2]["line"] == 4
    info = t["schema_info"].iloc[0]
    assert (info["mode"], info["statements_failed"], info["compat_failures"]) == (
        "migrations",
        1,
        2,
    )
    # statements after the broken one still applied
    pol = t["schema_policies"].set_index("name")
    assert bool(pol.loc["anyone", "null_uid_test"]) and bool(pol.loc["anyone", "admits_no_user"])
    assert not bool(pol.loc["own", "admits_no_user"])
    assert t["schema_functions"].iloc[0][
        ["name", "security_definer", "search_path_set"]
    ].tolist() == [
        "f",
        True,
        False,
    ]
    checks = t["schema_check_constraints"]
    assert checks.iloc[0]["allowed_values"] == '["paid", "error"]'
    fk = t["schema_foreign_keys"].iloc[0]
    assert (fk["columns"], fk["ref_table"], bool(fk["has_index"])) == ("user_id", "users", False)
    w = t["schema_rls_writes"]
    allowed = w[w["allowed"].astype(bool)]
    assert set(zip(allowed["role"], allowed["command"], strict=True)) == {
        ("authenticated", "UPDATE"),
        ("authenticated", "INSERT"),
        ("anon", "INSERT"),
    }
    assert set(allowed.loc[allowed["role"] == "authenticated", "column"]) >= {"status"}


def test_missing_migrations_folder_fails_closed(tmp_path):
    config = _config(tmp_path, mode="migrations")
    with pytest.raises(SourceError, match="migrations folder not found"):
        collect_schema(config, config.secrets())


@pytest.mark.integration
@pytest.mark.xdist_group("sandbox")
def test_live_mode_reads_the_sandbox_catalog(defects_sandbox):
    config = load_config(defects_sandbox.params_file)
    live = config.model_copy(
        update={
            "sources": config.sources.model_copy(
                update={"schema_": config.sources.schema_.model_copy(update={"mode": "live"})}
            )
        }
    )
    result = collect_schema(live, live.secrets())
    t = result.tables
    assert t["schema_info"].iloc[0]["mode"] == "live"
    assert {"orders", "plans", "ptero_nodes", "support_tickets"} <= set(t["schema_tables"]["table"])
    assert t["schema_migrations"].empty
    w = t["schema_rls_writes"]
    upd = w[(w["table"] == "orders") & (w["role"] == "authenticated") & (w["command"] == "UPDATE")]
    assert upd["allowed"].astype(bool).all() and "status" in set(upd["column"])
    # the migrations view of the same checkout agrees on the tables
    migr = collect_schema(config, config.secrets()).tables
    assert set(migr["schema_tables"]["table"]) == set(t["schema_tables"]["table"])
