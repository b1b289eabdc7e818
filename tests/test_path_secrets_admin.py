"""SEC-PATH-REVERSIBLE-SECRETS and SEC-PATH-ADMIN-BOOTSTRAP: the facts on differently
written code and SQL, then the checks over the codebase source joined with schema tables
built by the real policy model (static/sql/rls.py) from hand-written catalog rows. The
safe versions (hashes, unreadable columns, column grants, revoked EXECUTE, grants that
need an admin, seeded admins) are not flagged."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Severity, Status
from readiness.snapshot import Snapshot, SourceState
from readiness.static.rules.admin_bootstrap import admin_bootstraps
from readiness.static.rules.reversible import code_writes, sql_writes
from readiness.static.sql.catalog import COLUMNS, frame
from readiness.static.sql.rls import rls_reads
from readiness.static.ts.syntax import parse_source
from tests.test_flow_precision import tables

FN = "supabase/functions"
MIG = "supabase/migrations"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def ts_writes(src: str) -> list[tuple[str, str, str]]:
    pf = parse_source(f"{FN}/f/index.ts", textwrap.dedent(src).encode(), "f")
    return [(r["table"], r["column"], r["transform"]) for r in code_writes(pf, "f")]


# --- reversible writes: facts -------------------------------------------------------------


def test_base64_hex_and_homemade_encodings_of_secrets_are_recorded():
    src = """
    import { encodeBase64 } from "jsr:@std/encoding/base64";
    import * as hex from "https://deno.land/std@0.224.0/encoding/hex.ts";
    const scramble = (s: string) =>
      [...s].map((c) => String.fromCharCode(c.charCodeAt(0) ^ 23)).join('');
    Deno.serve(async (req) => {
      const { password, apiToken } = await req.json();
      const stored = btoa(password);
      await db.from('server_logins').insert({ user_id: 'u', sftp_pass: stored });
      await db.from('profiles')
        .update({ panel_token: Buffer.from(apiToken, 'utf8').toString('base64') }).eq('id', 1);
      await db.from('vault_lite').upsert([
        { a: encodeBase64(password) },
        { b: hex.encode(new TextEncoder().encode(password)) },
      ]);
      await db.from('notes').insert({ c: scramble(password), title: btoa(req.url) });
      return new Response('ok');
    });
    """
    assert ts_writes(src) == [
        ("server_logins", "sftp_pass", "base64"),
        ("profiles", "panel_token", "base64"),
        ("vault_lite", "a", "base64"),
        ("vault_lite", "b", "hex"),
        ("notes", "c", "homemade"),
    ]


def test_hashes_and_keyed_encryption_are_not_reversible():
    src = """
    import bcrypt from 'npm:bcryptjs';
    Deno.serve(async (req) => {
      const { password } = await req.json();
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(password));
      await db.from('a').insert({
        h1: btoa(String.fromCharCode(...new Uint8Array(digest))),
        h2: await bcrypt.hash(password, 10),
        h3: Buffer.from(await sha256(password)).toString('hex'),
        label: btoa(userName),
      });
      return new Response('ok');
    });
    """
    assert ts_writes(src) == []


def test_sql_encode_writes_in_functions_not_digests_or_crypt():
    sql = """
    create or replace function public.save_login(p_order uuid, p_password text)
    returns void language plpgsql security definer set search_path = public as $$
    begin
      insert into public.server_logins (order_id, sftp_pass)
        values (p_order, encode(convert_to(p_password, 'UTF8'), 'base64'));
      update public.server_logins set checksum = encode(digest(p_password, 'sha256'), 'hex')
        where order_id = p_order;
    end $$;
    create function public.set_pw(pw text) returns void language sql as $$
      update profiles set panel_secret = encode(pw::bytea, 'hex') where id = auth.uid();
      insert into t (secret) values (crypt(pw, gen_salt('bf')));
    $$;
    """
    rows = sql_writes(f"{MIG}/1.sql", textwrap.dedent(sql).lstrip())
    assert [(r["table"], r["column"], r["transform"], r["line"]) for r in rows] == [
        ("server_logins", "sftp_pass", "base64", 4),
        ("profiles", "panel_secret", "hex", 10),
    ]


# --- the checks ---------------------------------------------------------------------------


def catalog(
    table: str,
    columns: list[str],
    policies: list[dict],
    grants: list[tuple[str, str | None, str]],
    rls: bool = True,
) -> dict[str, pd.DataFrame]:
    """Schema tables for one public table; reads judged by the real policy model."""
    t = frame(
        "schema_tables",
        [{"schema": "public", "table": table, "kind": "table", "rls_enabled": rls}],
    )
    c = frame(
        "schema_columns", [{"schema": "public", "table": table, "column": x} for x in columns]
    )
    p = frame(
        "schema_policies",
        [{"schema": "public", "table": table, "permissive": True, **x} for x in policies],
    )
    g = frame(
        "schema_grants",
        [
            {"schema": "public", "table": table, "column": col, "grantee": who, "privilege": priv}
            for who, col, priv in grants
        ],
    )
    reads = frame("schema_rls_reads", rls_reads(t, c, p, g))
    out = {name: frame(name, []) for name in COLUMNS}
    out.update(schema_tables=t, schema_columns=c, schema_policies=p, schema_grants=g)
    out["schema_rls_reads"] = reads
    return out


def judge(check_id: str, code: dict[str, pd.DataFrame], schema: dict[str, pd.DataFrame], config):
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema")}
    snap = Snapshot(datetime(2026, 12, 1, tzinfo=UTC), states, {**code, **schema})
    return evaluate_check(REGISTRY[check_id], snap, config)


WRITER = {
    f"{FN}/save-login/index.ts": """
    Deno.serve(async (req) => {
      const { orderId, password } = await req.json();
      await admin.from('server_logins').insert({ order_id: orderId, sftp_pass: btoa(password) });
      return new Response('ok');
    });
    """,
    f"{MIG}/001_logins.sql": """
    create table public.server_logins (order_id uuid, user_id uuid, sftp_pass text);
    alter table public.server_logins enable row level security;
    create policy "logins readable" on public.server_logins for select using (true);
    """,
}
COLS = ["order_id", "user_id", "sftp_pass"]
EVERYONE = [
    {"name": "logins readable", "command": "SELECT", "roles": "public", "using_expr": "true"}
]
OWN = [
    {
        "name": "own logins",
        "command": "SELECT",
        "roles": "authenticated",
        "using_expr": "(auth.uid() = user_id)",
    }
]
SELECT_ALL = [("anon", None, "SELECT"), ("authenticated", None, "SELECT")]


def test_a_base64_password_anon_can_read_is_critical(tmp_path, demo_config):
    code = tables(tmp_path, WRITER)
    (f,) = judge(
        "SEC-PATH-REVERSIBLE-SECRETS",
        code,
        catalog("server_logins", COLS, EVERYONE, SELECT_ALL),
        demo_config,
    )
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL and f.chain
    assert f.resource == "column:public.server_logins.sftp_pass"
    assert [loc.location for loc in f.locations] == [
        f"{FN}/save-login/index.ts:3",
        f"{MIG}/001_logins.sql:3",
    ]
    assert "anonymous" in f.reason


def test_a_readable_encoded_password_is_one_problem_not_two(tmp_path, demo_config):
    """DB-RLS-SENSITIVE-READ sees the same column (its name says password): it is the
    chain's consequence; a second exposed column keeps it on its own."""
    from readiness.findings import link_causes

    code = tables(tmp_path, {k: v.replace("sftp_pass", "sftp_password") for k, v in WRITER.items()})
    cols = [c.replace("sftp_pass", "sftp_password") for c in COLS]
    schema = catalog("server_logins", cols, EVERYONE, SELECT_ALL)
    found = [
        f
        for cid in ("SEC-PATH-REVERSIBLE-SECRETS", "DB-RLS-SENSITIVE-READ")
        for f in judge(cid, code, schema, demo_config)
    ]
    chain, exposure = link_causes(found)
    assert exposure.status == Status.FAIL and exposure.cause is not None
    assert exposure.cause["finding_uid"] == chain.uid
    wider = catalog("server_logins", [*cols, "email"], EVERYONE, SELECT_ALL)
    (alone,) = judge("DB-RLS-SENSITIVE-READ", code, wider, demo_config)
    assert alone.cause_ref is None


def test_a_customer_reading_only_their_own_encoded_password_is_high(tmp_path, demo_config):
    code = tables(tmp_path, WRITER)
    schema = catalog("server_logins", COLS, OWN, [("authenticated", None, "SELECT")])
    (f,) = judge("SEC-PATH-REVERSIBLE-SECRETS", code, schema, demo_config)
    assert f.status == Status.FAIL and f.severity == Severity.HIGH


@pytest.mark.parametrize(
    ("policies", "grants"),
    [
        ([], SELECT_ALL),  # RLS on, no policy: nobody reads it
        (EVERYONE, [("anon", "order_id", "SELECT"), ("authenticated", "order_id", "SELECT")]),
        (EVERYONE, []),  # no SELECT privilege at all
    ],
)
def test_an_unreadable_column_passes(tmp_path, demo_config, policies, grants):
    code = tables(tmp_path, WRITER)
    (f,) = judge(
        "SEC-PATH-REVERSIBLE-SECRETS",
        code,
        catalog("server_logins", COLS, policies, grants),
        demo_config,
    )
    assert f.status == Status.PASS


def test_a_hashed_password_in_a_readable_column_passes(tmp_path, demo_config):
    hashed = {
        **WRITER,
        f"{FN}/save-login/index.ts": WRITER[f"{FN}/save-login/index.ts"].replace(
            "btoa(password)", "await bcrypt.hash(password)"
        ),
    }
    code = tables(tmp_path, hashed)
    (f,) = judge(
        "SEC-PATH-REVERSIBLE-SECRETS",
        code,
        catalog("server_logins", COLS, EVERYONE, SELECT_ALL),
        demo_config,
    )
    assert f.status == Status.PASS


# --- admin bootstrap ----------------------------------------------------------------------

BOOTSTRAPS = """
create or replace function public.claim_admin() returns void
language plpgsql security definer set search_path = public as $$
begin
  if not exists (select 1 from public.user_roles where role = 'admin') then
    insert into public.user_roles (user_id, role) values (auth.uid(), 'admin');
  end if;
end $$;
create function public.bootstrap(p_user_id uuid) returns void language plpgsql as $$
declare admins int;
begin
  select count(*) into admins from public.profiles where is_admin;
  if admins = 0 then
    update public.profiles set is_admin = true where id = p_user_id;
  end if;
end $$;
create function public.first_admin() returns void language sql as $$
  insert into user_roles (user_id, role) select auth.uid(), 'admin'
  where not exists (select 1 from user_roles where role = 'admin');
$$;
create function public.maybe_admin() returns void language plpgsql as $$
begin
  if (select count(*) from user_roles where role = 'admin') < 1 then
    insert into user_roles (user_id, role) values (auth.uid(), 'admin');
  end if;
end $$;
"""
SAFE = """
create function public.grant_admin(p_user uuid) returns void language plpgsql as $$
begin
  if not exists (select 1 from user_roles where user_id = auth.uid() and role = 'admin') then
    raise exception 'forbidden';
  end if;
  insert into user_roles (user_id, role) values (p_user, 'admin');
end $$;
create function public.promote(p_user uuid) returns void language plpgsql as $$
begin
  if not public.is_admin(auth.uid()) then raise exception 'forbidden'; end if;
  if not exists (select 1 from user_roles where role = 'admin') then
    insert into user_roles (user_id, role) values (p_user, 'admin');
  end if;
end $$;
insert into user_roles (user_id, role) values ('00000000-0000-0000-0000-000000000001', 'admin');
"""


def test_admin_bootstrap_facts_in_four_styles_and_none_in_the_safe_ones():
    rows = admin_bootstraps(f"{MIG}/1.sql", textwrap.dedent(BOOTSTRAPS).lstrip())
    got = [(r["function"], r["test"], r["grantee"], r["test_line"], r["line"]) for r in rows]
    assert got == [
        ("public.claim_admin", "not exists", "caller", 4, 5),
        ("public.bootstrap", "count = 0", "param:p_user_id", 12, 13),
        ("public.first_admin", "not exists", "caller", 17, 17),
        ("public.maybe_admin", "count = 0", "caller", 22, 23),
    ]
    safe = admin_bootstraps(f"{MIG}/2.sql", textwrap.dedent(SAFE).lstrip())
    assert [r for r in safe if not r["caller_admin_test"]] == []


def functions(rows: list[tuple[str, bool, bool]]) -> dict[str, pd.DataFrame]:
    return {
        "schema_functions": frame(
            "schema_functions",
            [
                {"schema": "public", "name": n, "anon_execute": a, "authenticated_execute": u}
                for n, a, u in rows
            ],
        )
    }


def test_a_callable_bootstrap_is_one_critical_chain_per_function(tmp_path, demo_config):
    code = tables(tmp_path, {f"{MIG}/001_admin.sql": BOOTSTRAPS, f"{MIG}/002_safe.sql": SAFE})
    schema = functions(
        [
            ("claim_admin", True, True),
            ("bootstrap", False, True),
            ("first_admin", False, False),  # revoked: only the service role runs it
            ("maybe_admin", False, False),
            ("grant_admin", True, True),
            ("promote", True, True),
        ]
    )
    found = judge("SEC-PATH-ADMIN-BOOTSTRAP", code, schema, demo_config)
    assert {f.resource: f.status for f in found} == {
        "function:public.claim_admin": Status.FAIL,
        "function:public.bootstrap": Status.FAIL,
    }
    first = next(f for f in found if f.resource == "function:public.claim_admin")
    assert first.chain and first.severity == Severity.CRITICAL
    assert [loc.location for loc in first.locations] == [
        f"{MIG}/001_admin.sql:4",
        f"{MIG}/001_admin.sql:5",
        f"{MIG}/001_admin.sql:1",
    ]
    assert "anon and authenticated" in first.reason


def test_no_callable_bootstrap_passes(tmp_path, demo_config):
    code = tables(tmp_path, {f"{MIG}/001_admin.sql": BOOTSTRAPS})
    schema = functions([(n, False, False) for n in ("claim_admin", "bootstrap")])
    (f,) = judge("SEC-PATH-ADMIN-BOOTSTRAP", code, schema, demo_config)
    assert f.status == Status.PASS


EDGE = """
import { createClient } from 'npm:@supabase/supabase-js@2';
const key = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!;
const admin = createClient(Deno.env.get('SUPABASE_URL')!, key);
Deno.serve(async (req) => {
  const jwt = (req.headers.get('Authorization') ?? '').replace('Bearer ', '');
  const { data: { user } } = await admin.auth.getUser(jwt);
  if (!user) return new Response('unauthorized', { status: 401 });
  {guard}
  const { count } = await admin.from('user_roles')
    .select('*', { count: 'exact', head: true }).eq('role', 'admin');
  if (count === 0) {
    await admin.from('user_roles').insert({ user_id: user.id, role: 'admin' });
  }
  return new Response('ok');
});
"""
SECRET_GUARD = """const secret = Deno.env.get('SETUP_SECRET');
  if (!secret || req.headers.get('x-setup-secret') !== secret) {
    return new Response('forbidden', { status: 403 });
  }"""
CONFIG = "[functions.setup-admin]\nverify_jwt = true\n"


def test_an_edge_function_making_the_first_signed_in_user_admin(tmp_path, demo_config):
    code = tables(
        tmp_path,
        {
            f"{FN}/setup-admin/index.ts": EDGE.replace("{guard}", ""),
            "supabase/config.toml": CONFIG,
        },
    )
    (f,) = judge("SEC-PATH-ADMIN-BOOTSTRAP", code, functions([]), demo_config)
    assert f.status == Status.FAIL and f.resource == "function:setup-admin"
    assert [loc.location for loc in f.locations] == [
        f"{FN}/setup-admin/index.ts:11",
        f"{FN}/setup-admin/index.ts:12",
        f"{FN}/setup-admin/index.ts",
    ]
    assert "any signed-in user" in f.reason


def test_an_edge_bootstrap_behind_an_exact_secret_check_passes(tmp_path, demo_config):
    code = tables(
        tmp_path,
        {
            f"{FN}/setup-admin/index.ts": EDGE.replace("{guard}", SECRET_GUARD),
            "supabase/config.toml": CONFIG,
        },
    )
    (f,) = judge("SEC-PATH-ADMIN-BOOTSTRAP", code, functions([]), demo_config)
    assert f.status == Status.PASS
