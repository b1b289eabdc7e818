# ruff: noqa: E501  (SQL snippets read best on one line)
"""Policies judged per caller, as an attacker would (issue 14 §3), on migration histories
written in several styles (Supabase CLI dumps with quoted names and casts, hand-written
lower case, `TO` role lists, RESTRICTIVE policies, column grants) and replayed on the
scratch database; plus the expression evaluator on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.config import load_config
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.schema import collect_schema
from readiness.static.sql.functions import read_functions
from readiness.static.sql.policy import (
    ALL,
    NONE,
    SOME,
    Caller,
    Evaluator,
    pinned_columns,
)

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# Supabase CLI style (pg_dump of a remote schema): quoted names, casts, ALL policies.
DUMP_STYLE = """
CREATE TYPE "public"."app_role" AS ENUM ('admin', 'staff', 'user');
CREATE TABLE IF NOT EXISTS "public"."user_roles" ("id" uuid DEFAULT gen_random_uuid() NOT NULL, "user_id" uuid NOT NULL, "role" "public"."app_role" NOT NULL);
CREATE OR REPLACE FUNCTION "public"."has_role"("_user_id" uuid, "_role" "public"."app_role") RETURNS boolean
    LANGUAGE "sql" STABLE SECURITY DEFINER SET "search_path" TO 'public'
    AS $$ SELECT EXISTS (SELECT 1 FROM public.user_roles WHERE user_id = _user_id AND role = _role) $$;
CREATE TABLE IF NOT EXISTS "public"."plans" ("id" text NOT NULL PRIMARY KEY, "price_cents" integer, "stripe_price_id" text, "active" boolean);
ALTER TABLE "public"."plans" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Admins can manage plans" ON "public"."plans" USING ("public"."has_role"("auth"."uid"(), 'admin'::"public"."app_role")) WITH CHECK ("public"."has_role"("auth"."uid"(), 'admin'::"public"."app_role"));
CREATE POLICY "Anyone can view plans" ON "public"."plans" FOR SELECT USING (true);
ALTER TABLE "public"."user_roles" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Admins manage roles" ON "public"."user_roles" USING ((EXISTS ( SELECT 1 FROM "public"."user_roles" "ur" WHERE (("ur"."user_id" = "auth"."uid"()) AND ("ur"."role" = 'admin'::"public"."app_role")))));
"""

# Hand-written: service-role-only writes in three spellings, constant false, a "deny"
# policy that is permissive and true, and the guest-checkout orders table.
HAND_WRITTEN = """
create table public.payments (id uuid primary key default gen_random_uuid(), user_id uuid, amount_cents int, status text);
alter table public.payments enable row level security;
create policy "Service role manages payments" on public.payments for all using (auth.role() = 'service_role') with check (auth.role() = 'service_role');
create policy "jwt service" on public.payments for insert with check ((auth.jwt() ->> 'role') = 'service_role');
create policy "claims service" on public.payments for update using (((current_setting('request.jwt.claims', true))::json ->> 'role') = 'service_role');
create policy "only the server" on public.payments for delete to service_role using (true);
create policy "Users cannot insert payments" on public.payments for insert with check (false);
create policy "Users cannot delete payments" on public.payments for delete using (false);

create table public.invoices (id uuid primary key default gen_random_uuid(), user_id uuid, total int, status text);
alter table public.invoices enable row level security;
create policy "deny client updates" on public.invoices for update using (true);

create table public.orders (id uuid primary key default gen_random_uuid(), user_id uuid, total_cents int, status text default 'pending');
alter table public.orders enable row level security;
create policy "Guests can place orders" on public.orders for insert with check (true);

create table public.feedback (id uuid primary key default gen_random_uuid(), message text);
create table public.notifications (id uuid primary key default gen_random_uuid(), user_id uuid, body text);
alter table public.notifications enable row level security;
create policy "System can insert notifications" on public.notifications for insert with check (true);
alter table public.feedback enable row level security;
create policy "Anyone can send feedback" on public.feedback for insert with check (true);

create table public.app_settings (id int primary key, value text);
alter table public.app_settings enable row level security;
create policy "admins via app_metadata" on public.app_settings for all using ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
"""

# Restrictive policies, role lists, column privileges, membership functions and pinned values.
GRANTS_STYLE = """
create table public.subscriptions (id uuid primary key default gen_random_uuid(), user_id uuid, plan_id text, status text, note text);
alter table public.subscriptions enable row level security;
create policy "open" on public.subscriptions as permissive for all to authenticated using (true) with check (true);
create policy "mine only" on public.subscriptions as restrictive for all to authenticated using (auth.uid() = user_id) with check (auth.uid() = user_id);
revoke update on public.subscriptions from authenticated;
grant update (note) on public.subscriptions to authenticated;

create table public.teams (id uuid primary key default gen_random_uuid());
create table public.team_members (team_id uuid, user_id uuid, role text);
create or replace function public.is_team_member(t uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
begin
  -- membership of the caller
  return exists (select 1 from public.team_members m where m.team_id = t and m.user_id = auth.uid());
end $$;
create table public.team_orders (id uuid primary key default gen_random_uuid(), team_id uuid, status text, total int);
alter table public.team_orders enable row level security;
create policy "members write" on public.team_orders for insert with check (public.is_team_member(team_id));

create table public.profiles (id uuid primary key, role text, credits int);
alter table public.profiles enable row level security;
create policy "self signup" on public.profiles for insert with check (auth.uid() = id and role = 'customer' and credits = 0);

create table public.leads (id uuid primary key default gen_random_uuid(), status text);
alter table public.leads enable row level security;
create policy "anyone" on public.leads for insert with check (true);
revoke all on public.leads from anon;
"""


def _collect(tmp_path: Path):
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    (mig / "20250101000000_dump.sql").write_text(DUMP_STYLE)
    (mig / "20250102000000_hand.sql").write_text(HAND_WRITTEN)
    (mig / "20250103000000_grants.sql").write_text(GRANTS_STYLE)
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={
            "codebase": base.sources.codebase.model_copy(update={"path": tmp_path}),
            "schema_": base.sources.schema_.model_copy(update={"mode": "migrations"}),
        }
    )
    config = base.model_copy(update={"sources": sources})
    return config, collect_schema(config, config.secrets()).tables


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    all_checks()
    return _collect(tmp_path_factory.mktemp("rls"))


def _findings(check_id: str, config, tables):
    states = {n: SourceState(n, "ok") for n in ("schema", "codebase", "database")}
    found = evaluate_check(REGISTRY[check_id], Snapshot(NOW, states, tables), config)
    return {f.resource: f for f in found if str(f.status) == "fail"}


def test_admin_and_service_role_policies_are_not_customer_writes(replayed):
    config, tables = replayed
    assert not tables["schema_migrations"]["ok"].eq(False).any(), tables["schema_migrations"]
    bad = _findings("SEC-RLS-CUSTOMER-WRITES", config, tables)
    for table in ("plans", "user_roles", "payments", "app_settings"):
        assert f"table:public.{table}" not in bad, bad[f"table:public.{table}"].reason
    # the customer may still create their own subscription row, but not UPDATE its status
    assert "INSERT" in bad["table:public.subscriptions"].reason
    assert "UPDATE" not in bad["table:public.subscriptions"].reason


def test_constant_false_and_role_tests_stop_anon(replayed):
    config, tables = replayed
    bad = _findings("SEC-RLS-ANON-WRITE", config, tables)
    for table in ("payments", "plans", "team_orders", "subscriptions", "leads", "app_settings"):
        assert f"table:public.{table}" not in bad, bad[f"table:public.{table}"].reason


def test_a_permissive_deny_policy_still_allows(replayed):
    config, tables = replayed
    customer = _findings("SEC-RLS-CUSTOMER-WRITES", config, tables)
    anon = _findings("SEC-RLS-ANON-WRITE", config, tables)
    assert "total" in customer["table:public.invoices"].reason
    assert "any row" in customer["table:public.invoices"].reason
    assert "UPDATE" in anon["table:public.invoices"].reason


def test_anon_insert_with_check_true_on_orders_stays_found(replayed):
    config, tables = replayed
    anon = _findings("SEC-RLS-ANON-WRITE", config, tables)
    assert "INSERT" in anon["table:public.orders"].reason
    assert "Guests can place orders" in anon["table:public.orders"].reason
    # one finding for the table, its writes in evidence
    writes = anon["table:public.orders"].evidence["writes"]
    assert {w["command"] for w in writes} == {"INSERT"}
    assert {"status", "total_cents"} <= {w["column"] for w in writes}


def test_anon_inserts_outside_purchase_records_ask_for_review(replayed):
    config, tables = replayed
    states = {n: SourceState(n, "ok") for n in ("schema", "codebase", "database")}
    found = evaluate_check(REGISTRY["SEC-RLS-ANON-WRITE"], Snapshot(NOW, states, tables), config)
    got = {f.resource: str(f.status) for f in found}
    assert got["table:public.feedback"] == "warn"  # a contact form: maybe meant
    assert got["table:public.orders"] == "fail"  # anyone creates orders
    assert got["table:public.invoices"] == "fail"  # anyone changes existing rows
    assert got["table:public.notifications"] == "fail"  # rows in any user's name


def test_membership_function_lets_members_not_anon(replayed):
    config, tables = replayed
    w = tables["schema_rls_writes"]
    team = w[(w["table"] == "team_orders") & (w["command"] == "INSERT")]
    allowed = dict(zip(team["role"], team["allowed"].astype(bool), strict=False))
    assert allowed == {"anon": False, "authenticated": True}
    assert "table:public.team_orders" in _findings("SEC-RLS-CUSTOMER-WRITES", config, tables)


def test_pinned_values_restrictive_policies_and_column_grants(replayed):
    _, tables = replayed
    w = tables["schema_rls_writes"]
    mine = w[(w["role"] == "authenticated") & w["allowed"].astype(bool)]
    prof = set(mine[mine["table"] == "profiles"]["column"])
    assert prof == {"id"}  # role and credits are pinned by the WITH CHECK
    subs = mine[mine["table"] == "subscriptions"]
    assert set(subs[subs["command"] == "UPDATE"]["column"]) == {"note"}
    assert set(subs["scope"]) == {"own rows"}  # the restrictive policy ANDs in
    anon = w[(w["role"] == "anon") & w["allowed"].astype(bool)]
    assert "leads" not in set(anon["table"])  # REVOKE ALL FROM anon


def test_enum_column_constrains_like_a_check(replayed):
    config, tables = replayed
    from readiness.checks.area05_schema import allowed_for

    got = allowed_for(
        tables["schema_check_constraints"],
        "user_roles",
        "role",
        tables["schema_columns"],
        tables["schema_enums"],
    )
    assert got == ["admin", "staff", "user"]


# --- the evaluator on its own --------------------------------------------------------------

FUNCS = read_functions(
    [
        {
            "name": "is_admin",
            "body": "select coalesce((select is_admin from profiles where id = auth.uid()), false)",
        },
        {
            "name": "current_profile_id",
            "body": "select id from profiles where clerk_id = public.clerk_sub()",
        },
        {"name": "clerk_sub", "body": "select auth.jwt() ->> 'sub'"},
        {
            "name": "can_edit_org",
            "body": "select exists(select 1 from org_members where user_id = auth.uid() and role in ('owner', 'admin'))",
        },
        {"name": "slugify", "body": "select lower($1)"},
    ]
)


@pytest.mark.parametrize(
    ("expr", "anon", "customer", "admin"),
    [
        ("true", ALL, ALL, ALL),
        ("false", NONE, NONE, NONE),
        ("auth.uid() = user_id", NONE, SOME, SOME),
        ("user_id = (select auth.uid())", NONE, SOME, SOME),
        ("auth.uid() IS NULL OR user_id = auth.uid()", ALL, SOME, SOME),
        ("auth.uid() IS NOT NULL", NONE, ALL, ALL),
        ("auth.role() = 'authenticated'", NONE, ALL, ALL),
        ("'service_role' = auth.role()", NONE, NONE, NONE),
        ("current_user = 'service_role'", NONE, NONE, NONE),
        ("current_setting('request.jwt.claim.role', true) = 'service_role'", NONE, NONE, NONE),
        ("public.has_role(auth.uid(), 'admin'::public.app_role)", NONE, NONE, ALL),
        ("has_role(auth.uid(), 'user')", NONE, SOME, SOME),
        ("public.is_admin()", NONE, NONE, ALL),
        ("NOT public.is_admin() AND auth.uid() = user_id", NONE, SOME, NONE),
        ("user_id = public.current_profile_id()", NONE, SOME, SOME),
        ("public.can_edit_org(org_id)", NONE, SOME, SOME),
        ("slugify(name) = 'x'", SOME, SOME, SOME),
        ("auth.uid() IN (SELECT user_id FROM public.admins)", NONE, NONE, ALL),
        (
            "EXISTS (SELECT 1 FROM profiles p WHERE p.id = auth.uid() AND p.is_admin)",
            NONE,
            NONE,
            ALL,
        ),
        ("(auth.jwt() -> 'app_metadata' ->> 'role') = 'admin'", NONE, NONE, ALL),
        ("(auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'", NONE, ALL, ALL),
        ("auth.jwt() ->> 'email' = 'owner@example.com'", NONE, NONE, ALL),
        ("status = 'draft' AND auth.uid() = owner_id", NONE, SOME, SOME),
        ("CASE WHEN auth.uid() IS NULL THEN false ELSE true END", NONE, ALL, ALL),
    ],
)
def test_evaluator_per_caller(expr, anon, customer, admin):
    got = [Evaluator(c, FUNCS).level(expr) for c in (Caller.ANON, Caller.CUSTOMER, Caller.ADMIN)]
    assert got == [anon, customer, admin]
    assert Evaluator(Caller.SERVICE, FUNCS).level(expr) == ALL  # bypasses RLS


def test_function_bodies_read_with_the_scanner():
    assert FUNCS.get("current_profile_id").needs_user  # through clerk_sub()
    assert FUNCS.get("is_admin").admin
    assert not FUNCS.get("can_edit_org").admin  # members pass it, whatever roles it accepts
    assert not FUNCS.get("slugify").needs_user
    commented = read_functions([{"name": "f", "body": "-- auth.uid() in a comment\nselect 1"}])
    assert not commented.get("f").needs_user


def test_pinned_columns():
    assert pinned_columns("(auth.uid() = user_id) AND (role = 'patient'::app_role)") == {"role"}
    assert pinned_columns("auth.uid() = user_id OR role = 'patient'") == set()
    assert pinned_columns(None) == set()


DEFINER_STYLES = """
create table public.wallets (user_id uuid primary key, balance int default 0);
create or replace function public.add_credits(p_user_id uuid, p_amount int) returns void
language plpgsql security definer set search_path = public as $$
begin
  update public.wallets set balance = balance + p_amount where user_id = p_user_id;
end $$;
CREATE FUNCTION public.add_my_credits(p_user_id uuid, p_amount int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  IF p_user_id <> auth.uid() THEN RAISE EXCEPTION 'not yours'; END IF;
  UPDATE public.wallets SET balance = balance + p_amount WHERE user_id = p_user_id;
END $$;
create function public.reset_wallet(target_user_id uuid) returns void language sql security definer
  as $$ delete from public.wallets where user_id = target_user_id $$;
revoke execute on function public.reset_wallet(uuid) from public, anon, authenticated;
create function public.wallet_of(_user_id uuid) returns table (balance int) language sql stable security definer
  as $$ select balance from public.wallets where user_id = _user_id $$;
create function public.is_rich(_user_id uuid) returns boolean language sql stable security definer
  as $$ select exists (select 1 from public.wallets where user_id = _user_id and balance > 100) $$;
"""


def test_definer_functions_acting_on_a_caller_chosen_id(tmp_path):
    all_checks()
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    (mig / "20250101000000_wallets.sql").write_text(DEFINER_STYLES)
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={"codebase": base.sources.codebase.model_copy(update={"path": tmp_path})}
    )
    config = base.model_copy(update={"sources": sources})
    tables = collect_schema(config, config.secrets()).tables
    states = {n: SourceState(n, "ok") for n in ("schema", "codebase", "database")}
    found = evaluate_check(REGISTRY["DB-SECDEF-EXPOSED"], Snapshot(NOW, states, tables), config)
    got = {f.resource: str(f.status) for f in found}
    assert got == {
        "function:public.add_credits": "fail",  # writes for any p_user_id, anon included
        "function:public.wallet_of": "warn",  # returns another user's balance
    }
    add = next(f for f in found if f.resource == "function:public.add_credits")
    assert add.evidence["callers"] == ["anon", "authenticated"]


READ_STYLES = """
create table public.profiles (id uuid primary key, display_name text, email text, stripe_customer_id text);
alter table public.profiles enable row level security;
create policy "Profiles are viewable by everyone" on public.profiles for select using (true);
create table public.api_keys (id uuid primary key default gen_random_uuid(), user_id uuid, api_key text, label text);
alter table public.api_keys enable row level security;
create policy "own keys" on public.api_keys for select to authenticated using (auth.uid() = user_id);
create table public.integrations (id uuid primary key default gen_random_uuid(), access_token text);
alter table public.integrations enable row level security;
CREATE POLICY "staff read" ON public.integrations FOR SELECT USING (EXISTS (SELECT 1 FROM public.profiles p WHERE p.id = auth.uid() AND p.display_name = 'x'));
"""


def _replay(tmp_path: Path, sql: str):
    all_checks()
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    (mig / "20250101000000_x.sql").write_text(sql)
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={"codebase": base.sources.codebase.model_copy(update={"path": tmp_path})}
    )
    config = base.model_copy(update={"sources": sources})
    return config, collect_schema(config, config.secrets()).tables


def test_sensitive_columns_readable_by_others(tmp_path):
    config, tables = _replay(tmp_path, READ_STYLES)
    states = {n: SourceState(n, "ok") for n in ("schema", "codebase", "database")}
    found = evaluate_check(REGISTRY["DB-RLS-SENSITIVE-READ"], Snapshot(NOW, states, tables), config)
    got = {f.resource: f for f in found if str(f.status) == "fail"}
    assert set(got) == {"table:public.profiles", "table:public.integrations"}
    assert "email" in got["table:public.profiles"].reason  # anyone reads every email
    assert "anonymous" in got["table:public.profiles"].reason
    # a customer's own api_key is theirs; the integrations token is readable on rows not theirs
    assert "access_token" in got["table:public.integrations"].reason
    assert "anonymous" not in got["table:public.integrations"].reason
