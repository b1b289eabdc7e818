"""SEC-PATH-SECDEF-CROSS-USER: the body facts (rules/definer.py) on differently written
SECURITY DEFINER functions (plpgsql RETURN QUERY, language sql SETOF, json_agg and
row_to_json, positional `$1`, other parameter names), the safe versions that must not be
recorded as open reads (invoker, auth.uid() comparisons, auth.uid() filters, counts and
booleans, admin gates), then the check over catalog rows and over a real replay of the
migrations (EXECUTE revoked for the service role only is no finding)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.config import load_config
from readiness.findings import Severity, Status
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.schema import collect_schema
from readiness.static.rules.definer import definer_user_reads, function_grants
from readiness.static.sql.catalog import COLUMNS, frame
from tests.test_flow_precision import tables

MIG = "supabase/migrations"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


OPEN = """
create or replace function public.get_user_servers(p_user uuid)
returns table (order_id uuid, server_name text, panel_email text)
language plpgsql security definer set search_path = public as $$
begin
  return query
    select o.id, o.server_name, e.panel_email
    from public.orders o
    left join public.external_accounts e on e.user_id = o.user_id
    where o.user_id = p_user;
end $$;

create function public.profile_of(uuid) returns setof public.profiles
  language sql stable security definer as $$ select * from public.profiles where id = $1 $$;

create function public.orders_json(target_customer uuid) returns json
language sql security definer as $$
  select json_agg(row_to_json(o)) from public.orders o where o.customer_id = target_customer
$$;

create function public.profile_doc(uid text) returns jsonb language plpgsql security definer as $$
declare doc jsonb;
begin
  select to_jsonb(p) into doc from public.profiles p where p.user_id = uid::uuid;
  return doc;
end $$;

create function public.tickets_by_owner(owner uuid) returns setof public.tickets
language sql security definer as $$
  select t.* from public.tickets t where $1 = t.owner_id order by t.created_at
$$;
"""

SAFE = """
create function public.invoker_orders(p_user_id uuid) returns setof public.orders
language sql as $$ select * from public.orders where user_id = p_user_id $$;

create function public.checked(p_user_id uuid) returns setof public.orders
language plpgsql security definer as $$
begin
  if p_user_id is distinct from auth.uid() then raise exception 'forbidden'; end if;
  return query select * from public.orders where user_id = p_user_id;
end $$;

create function public.checked_inline(p_user_id uuid) returns setof public.orders
language sql security definer as $$
  select * from public.orders where user_id = p_user_id and p_user_id = (select auth.uid())
$$;

create function public.ignores_param(p_user_id uuid) returns setof public.orders
language sql security definer as $$ select * from public.orders where user_id = auth.uid() $$;

create function public.count_for(p_user_id uuid) returns bigint
language sql security definer as $$
  select count(*) from public.orders where user_id = p_user_id
$$;

create function public.has_orders(p_user_id uuid) returns boolean
language sql security definer as $$
  select exists (select 1 from public.orders where user_id = p_user_id)
$$;

create function public.admin_view(p_user_id uuid) returns setof public.orders
language sql security definer as $$
  select * from public.orders where user_id = p_user_id
    and exists (select 1 from public.user_roles r where r.user_id = auth.uid() and r.role = 'admin')
$$;

create function public.admin_view2(p_user_id uuid) returns setof public.orders
language plpgsql security definer as $$
begin
  if not public.is_admin() then raise exception 'admins only'; end if;
  return query select * from public.orders where user_id = p_user_id;
end $$;

create function public.by_order(p_order_id uuid) returns setof public.orders
language sql security definer as $$ select * from public.orders where id = p_order_id $$;
"""


def reads(sql: str) -> list[dict]:
    return definer_user_reads(f"{MIG}/1.sql", textwrap.dedent(sql).lstrip())


def test_open_reads_in_five_styles_are_recorded():
    rows = reads(OPEN)
    got = [(r["name"], r["param"], r["table"], r["column"], r["guarded"]) for r in rows]
    assert got == [
        ("get_user_servers", "p_user", "orders", "user_id", False),
        ("profile_of", "$1", "profiles", "id", False),
        ("orders_json", "target_customer", "orders", "customer_id", False),
        ("profile_doc", "uid", "profiles", "user_id", False),
        ("tickets_by_owner", "owner", "tickets", "owner_id", False),
    ]
    first = rows[0]
    assert (first["line"], first["body_line"]) == (1, 5)
    assert first["returns"] == "table(order_id, server_name, panel_email)"
    assert rows[1]["returns"] == "setof public.profiles"


def test_safe_functions_have_no_open_read():
    rows = reads(SAFE)
    assert [r for r in rows if not r["guarded"]] == []
    assert {r["name"]: r["guard"] for r in rows} == {
        "checked": "caller",
        "checked_inline": "caller",
        "admin_view": "admin",
        "admin_view2": "admin",
    }


def test_an_id_handed_to_a_project_function_may_be_checked_there():
    rows = reads(
        """
        create function public.orders_of(p_user_id uuid) returns setof public.orders
        language plpgsql security definer as $$
        begin
          perform public.assert_can_view(p_user_id);
          return query select * from public.orders where user_id = p_user_id;
        end $$;
        """
    )
    assert [(r["guarded"], r["guard"]) for r in rows] == [(True, "call:public.assert_can_view")]


def test_grants_and_revokes_are_recorded():
    sql = """
    revoke execute on function public.f(uuid) from public, anon;
    grant execute on function f to authenticated;
    grant select on public.orders to anon;
    grant all on all functions in schema extensions to anon, authenticated;
    """
    got = [(r["name"], r["action"], r["grantees"], r["line"]) for r in function_grants("m", sql)]
    assert got == [("f", "revoke", "public,anon", 2), ("f", "grant", "authenticated", 3)]


# --- the check ----------------------------------------------------------------------------


def judge(code: dict[str, pd.DataFrame], schema: dict[str, pd.DataFrame], config):
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema")}
    snap = Snapshot(datetime(2026, 12, 1, tzinfo=UTC), states, {**code, **schema})
    return evaluate_check(REGISTRY["SEC-PATH-SECDEF-CROSS-USER"], snap, config)


def catalog(rows: list[tuple[str, bool, bool, bool]]) -> dict[str, pd.DataFrame]:
    out = {name: frame(name, []) for name in COLUMNS}
    out["schema_functions"] = frame(
        "schema_functions",
        [
            {
                "schema": "public",
                "name": n,
                "security_definer": d,
                "anon_execute": a,
                "authenticated_execute": u,
            }
            for n, d, a, u in rows
        ],
    )
    return out


GRANTED = OPEN + "\ngrant execute on function public.get_user_servers(uuid) to anon;\n"


def test_each_callable_function_is_one_critical_chain(tmp_path, demo_config):
    code = tables(tmp_path, {f"{MIG}/001_open.sql": GRANTED})
    schema = catalog(
        [
            ("get_user_servers", True, True, True),
            ("profile_of", True, False, True),  # signed-in customers only: still critical
            ("orders_json", True, False, False),  # revoked: the service role only
            ("profile_doc", False, True, True),  # a later ALTER made it security invoker
            ("tickets_by_owner", True, True, True),
        ]
    )
    found = judge(code, schema, demo_config)
    assert {f.resource: f.status for f in found} == {
        "function:public.get_user_servers": Status.FAIL,
        "function:public.profile_of": Status.FAIL,
        "function:public.tickets_by_owner": Status.FAIL,
    }
    assert all(f.chain and f.severity == Severity.CRITICAL for f in found)
    first = next(f for f in found if f.resource == "function:public.get_user_servers")
    assert [loc.location for loc in first.locations] == [
        f"{MIG}/001_open.sql:1",
        f"{MIG}/001_open.sql:32",  # the GRANT
        f"{MIG}/001_open.sql:5",  # RETURN QUERY … where o.user_id = p_user
    ]
    assert "anon and authenticated" in first.reason and "p_user" in first.reason
    second = next(f for f in found if f.resource == "function:public.profile_of")
    assert "never revoked from PUBLIC" in second.locations[1].reason
    assert second.locations[1].location == f"{MIG}/001_open.sql:12"


def test_a_fixed_redefinition_is_not_flagged(tmp_path, demo_config):
    fixed = """
    create or replace function public.get_user_servers(p_user uuid)
    returns setof public.orders language plpgsql security definer as $$
    begin
      if p_user <> auth.uid() then raise exception 'forbidden'; end if;
      return query select * from public.orders where user_id = p_user;
    end $$;
    """
    code = tables(tmp_path, {f"{MIG}/001_open.sql": OPEN, f"{MIG}/002_fix.sql": fixed})
    schema = catalog([(n, True, True, True) for n in ("get_user_servers", "orders_json")])
    found = judge(code, schema, demo_config)
    assert {f.resource for f in found if f.status == Status.FAIL} == {"function:public.orders_json"}


def test_safe_functions_pass(tmp_path, demo_config):
    code = tables(tmp_path, {f"{MIG}/001_safe.sql": SAFE})
    names = ["invoker_orders", "checked", "checked_inline", "ignores_param", "count_for"]
    names += ["has_orders", "admin_view", "admin_view2", "by_order"]
    schema = catalog([(n, n != "invoker_orders", True, True) for n in names])
    (f,) = judge(code, schema, demo_config)
    assert f.status == Status.PASS


def test_secdef_exposed_names_the_chain_as_its_cause(tmp_path, demo_config):
    """DB-SECDEF-EXPOSED warns on the same function: one problem, the chain its cause."""
    from readiness.findings import link_causes

    code = tables(tmp_path, {f"{MIG}/001_open.sql": GRANTED})
    schema = catalog([("get_user_servers", True, True, True)])
    schema["schema_functions"]["args"] = "p_user uuid"
    schema["schema_functions"]["returns"] = "TABLE(order_id uuid)"
    chain = judge(code, schema, demo_config)
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema")}
    snap = Snapshot(datetime(2026, 12, 1, tzinfo=UTC), states, {**code, **schema})
    exposed = evaluate_check(REGISTRY["DB-SECDEF-EXPOSED"], snap, demo_config)
    (old,) = [f for f in exposed if f.status == Status.WARN]
    linked = link_causes([*chain, *exposed])
    (old,) = [f for f in linked if f.check_id == "DB-SECDEF-EXPOSED" and f.status == Status.WARN]
    assert old.cause["check_id"] == "SEC-PATH-SECDEF-CROSS-USER"
    assert old.cause["resource"] == "function:public.get_user_servers"


def test_a_function_outside_public_warns(tmp_path, demo_config):
    """Only exposed schemas reach /rest/v1/rpc, and the exposed list is not read here."""
    sql = """
    create function internal.orders_of(p_user_id uuid) returns setof public.orders
    language sql security definer as $$ select * from public.orders where user_id = p_user_id $$;
    """
    code = tables(tmp_path, {f"{MIG}/001_internal.sql": sql})
    schema = catalog([])
    schema["schema_functions"] = frame(
        "schema_functions",
        [
            {
                "schema": "internal",
                "name": "orders_of",
                "security_definer": True,
                "anon_execute": True,
                "authenticated_execute": True,
            }
        ],
    )
    (f,) = judge(code, schema, demo_config)
    assert (f.status, f.severity) == (Status.WARN, Severity.HIGH)
    assert "exposes schema internal" in f.reason


REPLAY = """
create table public.orders (id uuid primary key, user_id uuid, server_name text);
alter table public.orders enable row level security;
create function public.open_servers(p_user uuid) returns setof public.orders
language sql security definer set search_path = public as $$
  select * from public.orders where user_id = p_user
$$;
create function public.service_servers(p_user uuid) returns setof public.orders
language sql security definer set search_path = public as $$
  select * from public.orders where user_id = p_user
$$;
revoke execute on function public.service_servers(uuid) from public, anon, authenticated;
grant execute on function public.service_servers(uuid) to service_role;
create function public.half_revoked(p_user uuid) returns setof public.orders
language sql security definer set search_path = public as $$
  select * from public.orders where user_id = p_user
$$;
revoke execute on function public.half_revoked(uuid) from public;
"""


def test_exposure_comes_from_the_replayed_catalog(tmp_path):
    """The catalog decides who may EXECUTE: never revoked is open, revoked from every API
    role (granted to service_role) is closed, revoked from PUBLIC alone leaves whatever
    the replayed privileges still give anon and authenticated."""
    config = load_config(REPO / "params" / "demo.yaml")
    sources = config.sources.model_copy(
        update={
            "codebase": config.sources.codebase.model_copy(update={"path": tmp_path}),
            "schema_": config.sources.schema_.model_copy(update={"mode": "migrations"}),
        }
    )
    config = config.model_copy(update={"sources": sources})
    code = tables(tmp_path, {f"{MIG}/001_servers.sql": REPLAY})
    schema = collect_schema(config, config.secrets()).tables
    fns = schema["schema_functions"].set_index("name")
    half = fns.loc["half_revoked"]
    found = {f.resource: f for f in judge(code, schema, config)}
    assert found["function:public.open_servers"].status == Status.FAIL
    assert "function:public.service_servers" not in found
    half_open = bool(half["anon_execute"]) or bool(half["authenticated_execute"])
    assert ("function:public.half_revoked" in found) == half_open
    if half_open:
        step = found["function:public.half_revoked"].locations[1]
        assert "revoked from public only" in step.reason
        assert step.location == f"{MIG}/001_servers.sql:17"


KINDS = """
create function public.get_user_role(_user_id uuid) returns app_role
language sql stable security definer set search_path = public as $$
  select role from public.user_roles where user_id = _user_id limit 1
$$;
create function public.email_of(p_user_id uuid) returns text
language sql security definer as $$ select email from public.profiles where id = p_user_id $$;
create function public.public_card(profile_id uuid)
returns table (id uuid, display_name text, avatar_url text)
language sql security definer as $$
  select p.id, p.display_name, p.avatar_url from public.profiles p where p.id = profile_id
$$;
"""


def test_what_is_returned_decides_the_severity(tmp_path, demo_config):
    """A role or id lookup (the helper RLS policies call) and public-looking profile
    columns are no leak; another user's email is critical."""
    code = tables(tmp_path, {f"{MIG}/001_kinds.sql": KINDS})
    schema = catalog([(n, True, True, True) for n in ("get_user_role", "email_of", "public_card")])
    found = {f.resource: f for f in judge(code, schema, demo_config)}
    assert set(found) == {"function:public.email_of"}
    email = found["function:public.email_of"]
    assert (email.status, email.severity) == (Status.FAIL, Severity.CRITICAL)
    assert "email" in email.locations[-1].reason and "email" in email.reason


TENANT = """
create or replace function public.customers_near(p_business_id uuid, p_km double precision)
returns table (id uuid, name text, address text)
language plpgsql security definer set search_path = public as $$
begin
  return query select c.id, c.name, c.address from public.customers c
  where c.business_id = p_business_id;
end $$;
create or replace function public.member_customers(p_business_id uuid)
returns table (id uuid, name text)
language sql security definer as $$
  select c.id, c.name from public.customers c
  where c.business_id = p_business_id
    and exists (select 1 from public.business_members m
                where m.business_id = p_business_id and m.user_id = auth.uid())
$$;
"""


def test_a_caller_chosen_tenant_id_is_cross_tenant(tmp_path, demo_config):
    """Another business's customers (names, addresses) are as private as another user's
    rows; a membership test of the caller guards it."""
    code = tables(tmp_path, {f"{MIG}/001_tenant.sql": TENANT})
    schema = catalog([(n, True, True, True) for n in ("customers_near", "member_customers")])
    found = {f.resource: f for f in judge(code, schema, demo_config)}
    assert set(found) == {"function:public.customers_near"}
    assert "address" in found["function:public.customers_near"].reason
