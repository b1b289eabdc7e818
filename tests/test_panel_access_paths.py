"""SEC-PATH-PANEL-ID-TAKEOVER and FLOW-PATH-UNPAID-PROVISION: the facts (client roles of
table uses, panel application calls and where their ids come from, Stripe payment checks)
on differently written functions, then the checks over the codebase source joined with
schema_rls_writes built by the real policy model from hand-written catalog rows. Ids from
service-only tables, from the signed-in user, and functions that ask Stripe are not
flagged."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Severity, Status
from readiness.snapshot import Snapshot, SourceState
from readiness.static.rules.panel_access import ClientRoles, panel_calls, payment_checks
from readiness.static.rules.table_uses import table_uses
from readiness.static.sql.catalog import COLUMNS, frame
from readiness.static.sql.rls import rls_writes
from readiness.static.ts.syntax import parse_source
from tests.test_flow_precision import tables

FN = "supabase/functions"
MIG = "supabase/migrations"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def parse(src: str, path: str = f"{FN}/f/index.ts"):
    return parse_source(path, textwrap.dedent(src).encode(), path.split("/")[2])


def ids(src: str) -> list[tuple]:
    pf = parse(src)
    return [
        (r["method"], r["url"], r["field"], r["origin"], r.get("table"), r.get("column"))
        for r in panel_calls(pf)
    ]


# --- facts ---------------------------------------------------------------------------------


def test_client_roles_follow_keys_envs_options_and_imports():
    shared = parse(
        """
        import { createClient } from 'jsr:@supabase/supabase-js@2';
        export const admin = createClient(Deno.env.get('SUPABASE_URL')!,
          Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
        """,
        f"{FN}/_shared/db.ts",
    )
    pf = parse(
        """
        import { createClient } from 'npm:@supabase/supabase-js';
        import { admin } from '../_shared/db.ts';
        const SERVICE = Deno.env.get('SERVICE_ROLE_KEY')!;
        const svc = createClient(URL, SERVICE);
        Deno.serve(async (req) => {
          const asUser = createClient(URL, Deno.env.get('SUPABASE_ANON_KEY')!, {
            global: { headers: { Authorization: req.headers.get('Authorization')! } },
          });
          const pub = createClient(URL, Deno.env.get('SUPABASE_ANON_KEY')!);
          await admin.from('a').select('x');
          await svc.from('b').select('x');
          await asUser.from('c').select('x');
          await pub.from('d').select('x');
          await helper().from('e').select('x');
        });
        """
    )
    roles = ClientRoles([shared, pf])
    got = {r["table"]: r["client_role"] for r in table_uses(pf, roles) if r["use"] == "read"}
    assert got == {
        "a": "service_role",
        "b": "service_role",
        "c": "user-jwt",
        "d": "anon",
        "e": "unknown",
    }


def test_panel_ids_from_selected_rows_in_three_styles():
    src = """
    const PANEL = Deno.env.get('PTERODACTYL_URL');
    const app = (p: string, init: RequestInit = {}) =>
      fetch(`${PANEL}/api/application${p}`, { ...init, headers: {} });
    async function ownerOf(uid: string) {
      const res = await db.from('links').select('panel_id').eq('user_id', uid).single();
      return res.data.panel_id;
    }
    Deno.serve(async (req) => {
      const { data: acct } = await db.from('panel_accounts')
        .select('pterodactyl_user_id').eq('user_id', uid).single();
      await fetch(`${PANEL}/api/application/users/${acct.pterodactyl_user_id}`, {
        method: 'PATCH', body: JSON.stringify({ password: 'x' }) });
      const { data } = await db.from('orders').select('*').eq('id', 1).maybeSingle();
      await app('/servers/' + data.panel_server_id + '/suspend', { method: 'POST' });
      const owner = await ownerOf(uid);
      const body = { name: 'n', user: Number(owner), egg: 1, limits: {} };
      await app('/servers', { method: 'POST', body: JSON.stringify(body) });
    });
    """
    assert ids(src) == [
        (
            "PATCH",
            "/api/application/users/{acct.pterodactyl_user_id}",
            "url:users",
            "row",
            "panel_accounts",
            "pterodactyl_user_id",
        ),
        (
            "POST",
            "/api/application/servers/{data.panel_server_id}/suspend",
            "url:servers",
            "row",
            "orders",
            "panel_server_id",
        ),
        ("POST", "/api/application/servers", "body:user", "row", "links", "panel_id"),
    ]


def test_panel_ids_from_the_request_the_user_literals_and_env_are_not_rows():
    src = """
    Deno.serve(async (req) => {
      const { server_id } = await req.json();
      const { data: { user } } = await supa.auth.getUser(token);
      await fetch(`${P}/api/application/servers/${server_id}`, { method: 'DELETE' });
      await fetch(`${P}/api/application/users/${user.id}`);
      await fetch(`${P}/api/application/users/7`, { method: 'PATCH', body: '{}' });
      await fetch(`${P}/api/application/servers`, {
        method: 'POST',
        body: JSON.stringify({ user: Deno.env.get('OWNER'), egg: 1, limits: {} }),
      });
      await fetch(`${P}/api/client/servers/${server_id}/power`, { method: 'POST' });
      const { data } = await db.from('t').select('other').single();
      await fetch(`${P}/api/application/users/${data.missing}`);
    });
    """
    got = [(r[0], r[2], r[3]) for r in ids(src)]
    assert got == [
        ("DELETE", "url:servers", "request"),
        ("GET", "url:users", "auth"),
        ("POST", "body:user", "env"),
        ("GET", "url:users", "derived"),  # the column was never selected
    ]


def test_payment_checks_are_retrieves_and_signature_checks():
    pf = parse(
        """
        Deno.serve(async (req) => {
          const s = await stripe.checkout.sessions.retrieve(id);
          const pi = await stripe.paymentIntents.retrieve(s.payment_intent);
          const ev = await stripe.webhooks.constructEventAsync(body, sig, secret);
          await stripe.customers.retrieve('cus_1');
        });
        """
    )
    kinds = [r["kind"] for r in payment_checks(pf)]
    assert kinds == ["retrieve:sessions", "retrieve:paymentIntents", "signature"]


# --- the checks ----------------------------------------------------------------------------


def catalog(specs: dict[str, tuple[list[str], list[dict]]]) -> dict[str, pd.DataFrame]:
    """Schema tables for public tables {name: (columns, policies)} with Supabase's default
    grants to anon and authenticated; writes judged by the real policy model."""
    t = frame(
        "schema_tables",
        [{"schema": "public", "table": n, "kind": "table", "rls_enabled": True} for n in specs],
    )
    c = frame(
        "schema_columns",
        [
            {"schema": "public", "table": n, "column": x}
            for n, (cols, _) in specs.items()
            for x in cols
        ],
    )
    p = frame(
        "schema_policies",
        [
            {"schema": "public", "table": n, "permissive": True, **x}
            for n, (_, pols) in specs.items()
            for x in pols
        ],
    )
    g = frame(
        "schema_grants",
        [
            {"schema": "public", "table": n, "column": None, "grantee": who, "privilege": priv}
            for n in specs
            for who in ("anon", "authenticated")
            for priv in ("SELECT", "INSERT", "UPDATE", "DELETE")
        ],
    )
    out = {name: frame(name, []) for name in COLUMNS}
    out.update(schema_tables=t, schema_columns=c, schema_policies=p, schema_grants=g)
    out["schema_rls_writes"] = frame("schema_rls_writes", rls_writes(t, c, p, g))
    return out


def judge(check_id: str, code: dict, schema: dict, config):
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema")}
    snap = Snapshot(datetime(2026, 12, 1, tzinfo=UTC), states, {**code, **schema})
    return evaluate_check(REGISTRY[check_id], snap, config)


OWN_UPDATE = {
    "name": "edit own login",
    "command": "UPDATE",
    "roles": "authenticated",
    "using_expr": "(user_id = auth.uid())",
    "check_expr": "(user_id = auth.uid())",
}
OWN_SELECT = {
    "name": "see own",
    "command": "SELECT",
    "roles": "authenticated",
    "using_expr": "(user_id = auth.uid())",
}
ACCOUNTS = ["user_id", "pterodactyl_user_id", "username"]
SHARED = """
import { createClient } from 'jsr:@supabase/supabase-js@2';
export const admin = createClient(Deno.env.get('SUPABASE_URL')!,
  Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
"""
RESET = """
import { admin } from '../_shared/admin.ts';
const PANEL = Deno.env.get('PTERODACTYL_URL')!;
Deno.serve(async (req) => {
  const { data: { user } } = await admin.auth.getUser(req.headers.get('Authorization')!);
  const { data: row } = await admin.from('panel_accounts')
    .select('pterodactyl_user_id').eq('user_id', user.id).single();
  const password = crypto.randomUUID();
  await fetch(`${PANEL}/api/application/users/${row.pterodactyl_user_id}`, {
    method: 'PATCH',
    body: JSON.stringify({ email: user.email, username: 'u', first_name: 'a',
      last_name: 'b', password }),
  });
  return new Response(password);
});
"""


def reset_code(tmp_path, body: str = RESET):
    return tables(tmp_path, {f"{FN}/_shared/admin.ts": SHARED, f"{FN}/reset/index.ts": body})


def test_a_customer_writable_panel_id_used_for_a_password_reset_is_a_takeover(
    tmp_path, demo_config
):
    code = reset_code(tmp_path)
    uses = code["code_table_uses"]
    assert set(uses[uses["table"] == "panel_accounts"]["client_role"]) == {"service_role"}
    schema = catalog({"panel_accounts": (ACCOUNTS, [OWN_SELECT, OWN_UPDATE])})
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL and f.chain
    assert f.resource == "function:reset"
    assert "password" in f.reason
    assert [loc.location for loc in f.locations] == [
        None,  # no migration read here: the policy has no file
        f"{FN}/reset/index.ts:5",
        f"{FN}/reset/index.ts:8",
    ]
    assert f.cause_ref == (("SEC-RLS-CUSTOMER-WRITES", "table:public.panel_accounts"),)


def test_a_panel_id_only_the_service_role_writes_passes(tmp_path, demo_config):
    code = reset_code(tmp_path)
    schema = catalog({"panel_accounts": (ACCOUNTS, [OWN_SELECT])})  # no UPDATE policy
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.PASS


def test_a_policy_pinning_the_panel_id_passes(tmp_path, demo_config):
    pinned = {**OWN_UPDATE, "check_expr": "((user_id = auth.uid()) AND (pterodactyl_user_id = 0))"}
    code = reset_code(tmp_path)
    schema = catalog({"panel_accounts": (ACCOUNTS, [OWN_SELECT, pinned])})
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.PASS


def test_an_id_from_the_users_own_service_only_mapping_passes(tmp_path, demo_config):
    """The function reads the panel id from external_accounts (customers cannot write it)
    even though panel_accounts, which it also reads, is customer-writable."""
    body = RESET.replace(
        "const password",
        "const { data: link } = await admin.from('external_accounts')"
        ".select('panel_id').eq('user_id', user.id).single();\n  const password",
    ).replace("${row.pterodactyl_user_id}", "${link.panel_id}")
    code = reset_code(tmp_path, body)
    schema = catalog(
        {
            "panel_accounts": (ACCOUNTS, [OWN_SELECT, OWN_UPDATE]),
            "external_accounts": (["user_id", "panel_id"], [OWN_SELECT]),
        }
    )
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.PASS


def test_a_user_jwt_read_of_a_column_the_caller_writes_is_still_a_takeover(tmp_path, demo_config):
    """RLS hands the caller their own row, but its panel id is what they wrote."""
    body = """
    import { createClient } from 'npm:@supabase/supabase-js@2';
    Deno.serve(async (req) => {
      const db = createClient(Deno.env.get('SUPABASE_URL')!, Deno.env.get('SUPABASE_ANON_KEY')!,
        { global: { headers: { Authorization: req.headers.get('Authorization')! } } });
      const res = await db.from('panel_accounts').select('pterodactyl_user_id').single();
      const id = res.data.pterodactyl_user_id;
      await fetch(Deno.env.get('PANEL')! + '/api/application/servers/' + id + '/suspend', {
        method: 'POST' });
      return new Response('ok');
    });
    """
    code = tables(tmp_path, {f"{FN}/pause/index.ts": body})
    schema = catalog({"panel_accounts": (ACCOUNTS, [OWN_SELECT, OWN_UPDATE])})
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL
    assert "user-jwt" in f.locations[1].reason


REQUESTS = ["id", "user_id", "plan_id", "status"]
OWN_INSERT = {
    "name": "queue own",
    "command": "INSERT",
    "roles": "authenticated",
    "check_expr": "(user_id = auth.uid())",
}
BUILD = """
import { admin } from '../_shared/admin.ts';
Deno.serve(async (req) => {
  const { id } = await req.json();
  const { data: r } = await admin.from('server_requests').select('id, plan_id, status')
    .eq('id', id).eq('status', 'paid').single();
  CHECK
  const res = await fetch(`${Deno.env.get('PANEL')}/api/application/servers`, {
    method: 'POST',
    body: JSON.stringify({ name: 'x', user: 3, egg: 5, limits: { memory: 1024 } }),
  });
  return new Response(String(res.status));
});
"""


def build_code(tmp_path, check: str = ""):
    return tables(
        tmp_path,
        {
            f"{FN}/_shared/admin.ts": SHARED,
            f"{FN}/provision-queue/index.ts": BUILD.replace("CHECK", check),
        },
    )


def test_servers_built_from_rows_the_customer_inserts_are_unpaid_provisioning(
    tmp_path, demo_config
):
    schema = catalog({"server_requests": (REQUESTS, [OWN_SELECT, OWN_INSERT])})
    (f,) = judge("FLOW-PATH-UNPAID-PROVISION", build_code(tmp_path), schema, demo_config)
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL and f.chain
    assert f.resource == "function:provision-queue"
    assert [loc.location for loc in f.locations][1:] == [
        f"{FN}/provision-queue/index.ts:4",
        f"{FN}/provision-queue/index.ts:7",
    ]
    assert "INSERT server_requests.status" in f.locations[0].reason


def test_a_status_the_customer_may_update_is_unpaid_provisioning(tmp_path, demo_config):
    update = {**OWN_UPDATE, "name": "edit own request"}
    schema = catalog({"server_requests": (REQUESTS, [OWN_SELECT, update])})
    (f,) = judge("FLOW-PATH-UNPAID-PROVISION", build_code(tmp_path), schema, demo_config)
    assert f.status == Status.FAIL
    assert "UPDATE" in f.locations[0].reason


@pytest.mark.parametrize(
    "check",
    [
        "const s = await stripe.checkout.sessions.retrieve(r.session_id);",
        "const pi = await stripe.paymentIntents.retrieve(r.payment_intent);",
        "const e = stripe.webhooks.constructEvent(await req.text(), sig, secret);",
    ],
)
def test_a_function_that_asks_stripe_first_passes(tmp_path, demo_config, check):
    schema = catalog({"server_requests": (REQUESTS, [OWN_SELECT, OWN_INSERT])})
    (f,) = judge("FLOW-PATH-UNPAID-PROVISION", build_code(tmp_path, check), schema, demo_config)
    assert f.status == Status.PASS


def test_a_table_only_the_service_role_writes_passes(tmp_path, demo_config):
    pinned = {**OWN_INSERT, "check_expr": "((user_id = auth.uid()) AND (status = 'queued'))"}
    for pols in ([OWN_SELECT], [OWN_SELECT, pinned]):
        schema = catalog({"server_requests": (REQUESTS, pols)})
        (f,) = judge("FLOW-PATH-UNPAID-PROVISION", build_code(tmp_path), schema, demo_config)
        assert f.status == Status.PASS, pols


def test_the_password_reset_names_the_takeover_as_its_cause(tmp_path, demo_config):
    """PANEL-CODE-PASSWORD sees the same reset: one problem, folded under the chain."""
    code = reset_code(tmp_path)
    (f,) = judge("PANEL-CODE-PASSWORD", code, {}, demo_config)
    assert f.status == Status.FAIL
    assert ("SEC-PATH-PANEL-ID-TAKEOVER", "function:reset") in f.cause_ref


def test_ids_from_user_metadata_are_the_users_own_to_set():
    src = """
    Deno.serve(async (req) => {
      const { data: { user } } = await supa.auth.getUser(token);
      const meta = user.user_metadata;
      await fetch(`${P}/api/application/users/${meta.ptero_id}`, { method: 'PATCH', body: b });
      const { data } = await supa.auth.getUser(token);
      await fetch(`${P}/api/application/servers/${data.user.user_metadata['server_id']}`);
      await fetch(`${P}/api/application/users/${user.app_metadata.ptero_id}`);
    });
    """
    got = [(r[0], r[2], r[3]) for r in ids(src)]
    assert got == [
        ("PATCH", "url:users", "user_metadata"),
        ("GET", "url:servers", "user_metadata"),
        ("GET", "url:users", "auth"),  # app_metadata: only the service role sets it
    ]


META_RESET = """
const PANEL = Deno.env.get('PTERODACTYL_URL')!;
Deno.serve(async (req) => {
  const sb = createClient(Deno.env.get('SUPABASE_URL')!, Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!)
  const { data: { user } } = await sb.auth.getUser(req.headers.get('Authorization')!);
  const panelUser = user?.user_metadata?.pterodactyl_user_id;
  await fetch(`${PANEL}/api/application/users/${panelUser}`, {
    method: 'PATCH',
    body: JSON.stringify({ email: user.email, password: crypto.randomUUID() }),
  });
  return new Response('ok');
});
"""


def test_a_panel_id_kept_in_user_metadata_is_a_takeover(tmp_path, demo_config):
    code = tables(tmp_path, {f"{FN}/meta-reset/index.ts": META_RESET})
    schema = catalog({"panel_accounts": (ACCOUNTS, [OWN_SELECT])})
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL and f.chain
    assert "user_metadata" in f.reason and "password" in f.reason
    assert [loc.location for loc in f.locations] == [
        f"{FN}/meta-reset/index.ts:4",  # getUser()
        f"{FN}/meta-reset/index.ts:6",  # the PATCH
    ]
    safe = META_RESET.replace("user_metadata", "app_metadata")
    code = tables(tmp_path / "safe", {f"{FN}/meta-reset/index.ts": safe})
    (f,) = judge("SEC-PATH-PANEL-ID-TAKEOVER", code, schema, demo_config)
    assert f.status == Status.PASS


INTERNAL = (
    "const key = Deno.env.get('INTERNAL_KEY');\n"
    "  if (!key || req.headers.get('x-internal-key') !== key) "
    "return new Response('forbidden', { status: 401 });"
)
USER = "const { data: { user } } = await admin.auth.getUser(req.headers.get('Authorization')!);"


@pytest.mark.parametrize(("check", "status"), [(INTERNAL, Status.PASS), (USER, Status.FAIL)])
def test_only_a_function_customers_can_start_is_unpaid_provisioning(
    tmp_path, demo_config, check, status
):
    """Behind an exact internal secret only the verified webhook (which chose the order)
    starts it: a row the customer marks paid starts nothing. A function any signed-in
    customer calls is the chain."""
    schema = catalog({"server_requests": (REQUESTS, [OWN_SELECT, OWN_INSERT])})
    first = BUILD.replace("CHECK", "").replace("  const { id }", f"  {check}\n  const {{ id }}")
    code = tables(
        tmp_path, {f"{FN}/_shared/admin.ts": SHARED, f"{FN}/provision-queue/index.ts": first}
    )
    found = judge("FLOW-PATH-UNPAID-PROVISION", code, schema, demo_config)
    assert [f.status for f in found] == [status]
