"""ERR-PATH-CALL-BODY-KEYS: a caller (edge function, helper, frontend, pg_cron job, SQL
function) sends a body lacking a key the called function requires. Facts on several
differently written callers and readers, then the check on whole checkouts; the safe
versions (keys match, fallbacks, defaults, unfollowable bodies, no required key) are not
flagged."""

from __future__ import annotations

import textwrap

import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Severity, Status
from readiness.static.rules.body_keys import body_keys
from readiness.static.rules.function_calls import function_calls
from readiness.static.rules.sql_calls import sql_calls
from readiness.static.ts.responses import Responses
from readiness.static.ts.syntax import parse_source
from tests.conftest import make_snapshot
from tests.test_flow_precision import tables

FN = "supabase/functions"
MIG = "supabase/migrations"
CHECK = "ERR-PATH-CALL-BODY-KEYS"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def parsed(src: str, slug: str = "f"):
    return parse_source(f"{FN}/{slug}/index.ts", textwrap.dedent(src).encode(), slug)


def calls_of(src: str) -> list[tuple[str, str | None, str]]:
    pf = parsed(src)
    return [(r["target"], r["body_keys"], r["via"]) for r in function_calls(pf, "f", "function")]


def keys_of(src: str) -> dict[str, tuple[bool, str | None, int | None]]:
    pf = parsed(src)
    return {
        r["key"]: (r["required"], r["alternatives"], r["status"])
        for r in body_keys(pf, Responses([pf]))
    }


# --- callers -------------------------------------------------------------------------------


def test_fetch_with_a_stringified_literal_body():
    src = """
    const url = Deno.env.get('SUPABASE_URL');
    Deno.serve(async (req) => {
      const payload = { order_id: '1', attempt: 2 };
      await fetch(`${url}/functions/v1/servers-provision`, {
        method: 'POST', body: JSON.stringify(payload) });
      return new Response('ok');
    });
    """
    assert calls_of(src) == [("servers-provision", "attempt,order_id", "fetch")]


def test_invoke_with_an_object_body_and_without_one():
    src = """
    export async function buy(client, plan) {
      await client.functions.invoke('create-checkout', { body: { planId: plan } });
      await client.functions.invoke('refresh-status');
    }
    """
    assert calls_of(src) == [
        ("create-checkout", "planId", "invoke"),
        ("refresh-status", "", "invoke"),
    ]


def test_a_wrapper_taking_slug_and_payload_is_followed_to_its_call_sites():
    src = """
    const BASE = Deno.env.get('SUPABASE_URL') + '/functions/v1';
    async function callFunction(name: string, data: Record<string, unknown>) {
      const res = await fetch(`${BASE}/functions/v1/${name}`, {
        method: 'POST', headers: {}, body: JSON.stringify(data) });
      return res.json();
    }
    Deno.serve(async () => {
      await callFunction('servers-provision', { orderId: 'x' });
      return new Response('ok');
    });
    """
    assert calls_of(src) == [("servers-provision", "orderId", "helper:callFunction")]


def test_a_spread_or_a_forwarded_body_is_not_followable():
    src = """
    Deno.serve(async (req) => {
      const body = await req.json();
      await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/a`, {
        method: 'POST', body: JSON.stringify({ ...body, extra: 1 }) });
      await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/b`, {
        method: 'POST', body: JSON.stringify(body) });
      return new Response('ok');
    });
    """
    assert calls_of(src) == [("a", None, "fetch"), ("b", None, "fetch")]


def test_sql_callers_cron_commands_and_plpgsql_functions():
    sql = textwrap.dedent(
        """
        create or replace function public.retry_stuck_orders()
          returns void language plpgsql security definer set search_path = public
        as $fn$
        declare o record;
        begin
          for o in select id from public.orders where status = 'error' loop
            perform net.http_post(
              url := current_setting('app.base_url') || '/functions/v1/servers-provision',
              body := jsonb_build_object('orderId', o.id, 'retry', true)
            );
          end loop;
        end
        $fn$;
        select cron.schedule('retry-orders', '*/5 * * * *', 'select public.retry_stuck_orders()');
        select cron.schedule('nightly', '0 3 * * *', $cmd$
          select net.http_post('https://p.supabase.co/functions/v1/reconcile', '{"day": 1}'::jsonb)
        $cmd$);
        create function public.on_paid() returns trigger language plpgsql as $$
        begin
          perform net.http_post(url := 'https://p.supabase.co/functions/v1/notify',
                                body := to_jsonb(new));
          return new;
        end $$;
        """
    )
    rows = {r["target"]: r for r in sql_calls([(f"{MIG}/1_jobs.sql", sql)])}
    assert rows["servers-provision"]["body_keys"] == "orderId,retry"
    assert rows["servers-provision"]["caller"] == "sql:public.retry_stuck_orders"
    assert rows["servers-provision"]["scheduled"]  # the cron job runs the function
    assert rows["servers-provision"]["line"] == 8
    assert rows["reconcile"]["caller"] == "cron:nightly" and rows["reconcile"]["body_keys"] == "day"
    assert rows["notify"]["body_keys"] is None and not rows["notify"]["scheduled"]


# --- the keys a function reads ---------------------------------------------------------


def test_destructured_keys_with_a_400_guard_are_required():
    src = """
    Deno.serve(async (req) => {
      const { orderId, note } = await req.json();
      if (!orderId) return new Response(JSON.stringify({ error: 'orderId' }), { status: 400 });
      return new Response('ok');
    });
    """
    assert keys_of(src) == {"orderId": (True, None, 400), "note": (False, None, None)}


def test_a_routers_handler_requires_its_keys_only_on_its_route():
    """Must NOT be required of every caller: each route's handler reads its own body."""
    src = """
    async function verifyMagic(req: Request) {
      const { token } = await req.json();
      if (!token) return new Response('token required', { status: 400 });
      return new Response('ok');
    }
    const login = async (req: Request) => {
      const body = await req.json();
      if (!body.email) return new Response('email required', { status: 400 });
      return new Response('ok');
    };
    Deno.serve(async (req) => {
      const route = new URL(req.url).pathname.split('/').pop();
      switch (route) {
        case 'verify-magic':
          return verifyMagic(req);
        case 'login':
          return login(req);
      }
      return new Response('not found', { status: 404 });
    });
    """
    assert keys_of(src) == {"token": (False, None, None), "email": (False, None, None)}


def test_a_helper_every_request_goes_through_still_requires_its_keys():
    src = """
    async function handle(req: Request) {
      const { orderId } = await req.json();
      if (!orderId) return new Response('orderId required', { status: 422 });
      return new Response('ok');
    }
    Deno.serve(async (req) => {
      if (req.method === 'OPTIONS') return new Response('ok');
      return await handle(req);
    });
    """
    assert keys_of(src) == {"orderId": (True, None, 422)}


def test_member_reads_typeof_guards_and_throws():
    src = """
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status });
    Deno.serve(async (request: Request) => {
      try {
        const body = JSON.parse(await request.text());
        if (typeof body.server_id !== 'string' || body.server_id === '') {
          return json({ error: 'server_id required' }, 422);
        }
        const region = body['region'];
        if (region == null) throw new Error('region required');
        return json({ ok: true }, 200);
      } catch (e) {
        return json({ error: String(e) }, 500);
      }
    });
    """
    found = keys_of(src)
    assert found["server_id"][0] is True
    assert found["region"][:2] == (True, None)


def test_fallbacks_defaults_and_conditional_guards_are_not_required_alone():
    src = """
    Deno.serve(async (req) => {
      const body = await req.json();
      const orderId = body.orderId ?? body.order_id;
      if (!orderId) return new Response('missing', { status: 400 });
      const term = body.term || 'monthly';
      const { plan = 'basic' } = body;
      if (body.mode === 'admin') {
        if (!body.target) return new Response('no target', { status: 400 });
      }
      return new Response('ok');
    });
    """
    found = keys_of(src)
    assert found["orderId"] == (True, "order_id", 400)
    assert found["order_id"] == (True, "orderId", 400)
    assert found["term"][0] is False and found["plan"][0] is False
    assert found["target"][0] is False  # only required on one branch


# --- the check --------------------------------------------------------------------------

PROVISION = """
import { jsonResponse } from '../_shared/cors.ts';
Deno.serve(async (req) => {
  const { order_id } = await req.json();
  if (typeof order_id !== 'string') return jsonResponse({ error: 'order_id is required' }, 400);
  return jsonResponse({ ok: true });
});
"""
CORS = """
export function jsonResponse(body: unknown, status = 200): Response {
  const headers = { 'Content-Type': 'application/json' };
  return new Response(JSON.stringify(body), { status, headers });
}
"""
RETRY_SQL = """
create or replace function public.requeue_failed_orders() returns void
language plpgsql security definer set search_path = public as $$
declare r record;
begin
  for r in select id from public.orders where status = 'error' loop
    perform net.http_post(
      url := 'https://demo.supabase.co/functions/v1/servers-provision',
      body := jsonb_build_object({keys}));
  end loop;
end $$;
revoke execute on function public.requeue_failed_orders() from public, anon, authenticated;
do $$ begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('requeue', '*/10 * * * *', 'select public.requeue_failed_orders()');
  end if;
end $$;
"""


def judge(tmp_path, config, files: dict[str, str]):
    return evaluate_check(REGISTRY[CHECK], make_snapshot(tables(tmp_path, files)), config)


def test_a_scheduled_retry_with_the_wrong_key_is_one_critical_chain(tmp_path, demo_config):
    files = {
        f"{FN}/_shared/cors.ts": CORS,
        f"{FN}/servers-provision/index.ts": PROVISION,
        f"{MIG}/001_retry.sql": RETRY_SQL.replace("{keys}", "'orderId', r.id"),
    }
    (f,) = judge(tmp_path, demo_config, files)
    assert f.status == Status.FAIL and f.severity == Severity.CRITICAL and f.chain
    assert f.resource == f"call:{MIG}/001_retry.sql:6->servers-provision"
    assert [loc.location for loc in f.locations] == [
        f"{MIG}/001_retry.sql:6",
        f"{FN}/servers-provision/index.ts:3",
        f"{FN}/servers-provision/index.ts:4",
    ]
    assert "answers 400" in f.reason and f.evidence["missing"] == ["order_id"]


def test_a_frontend_call_missing_a_key_is_high(tmp_path, demo_config):
    files = {
        f"{FN}/_shared/cors.ts": CORS,
        f"{FN}/servers-provision/index.ts": PROVISION,
        "src/lib/servers.ts": """
        import { supabase } from './supabase';
        export const provisionAgain = (id: string) =>
          supabase.functions.invoke('servers-provision', { body: { orderId: id } });
        """,
        "src/lib/supabase.ts": "export const supabase = createClient('u', 'k');\n",
    }
    (f,) = judge(tmp_path, demo_config, files)
    assert f.status == Status.FAIL and f.severity == Severity.HIGH
    assert f.locations[0].location == "src/lib/servers.ts:3"


@pytest.mark.parametrize(
    "keys",
    [
        "'order_id', r.id",  # keys match
        "'order_id', r.id, 'attempt', 2",  # extra keys are harmless
    ],
)
def test_matching_keys_pass(tmp_path, demo_config, keys):
    files = {
        f"{FN}/_shared/cors.ts": CORS,
        f"{FN}/servers-provision/index.ts": PROVISION,
        f"{MIG}/001_retry.sql": RETRY_SQL.replace("{keys}", keys),
    }
    (f,) = judge(tmp_path, demo_config, files)
    assert f.status == Status.PASS


def test_fallback_reads_unfollowable_bodies_and_optional_keys_pass(tmp_path, demo_config):
    tolerant = PROVISION.replace(
        "const { order_id } = await req.json();",
        "const body = await req.json();\n  const order_id = body.order_id ?? body.orderId;",
    )
    files = {
        f"{FN}/_shared/cors.ts": CORS,
        f"{FN}/servers-provision/index.ts": tolerant,
        f"{FN}/notify/index.ts": """
        Deno.serve(async (req) => {
          const { message } = await req.json();
          console.log(message ?? 'nothing');
          return new Response('ok');
        });
        """,
        f"{MIG}/001_retry.sql": RETRY_SQL.replace("{keys}", "'orderId', r.id"),
        f"{MIG}/002_more.sql": """
        create function public.fwd() returns trigger language plpgsql as $$
        begin
          perform net.http_post(url := 'https://d.supabase.co/functions/v1/servers-provision',
                                body := to_jsonb(new));
          perform net.http_post(url := 'https://d.supabase.co/functions/v1/notify',
                                body := jsonb_build_object('text', new.id));
          return new;
        end $$;
        """,
    }
    (f,) = judge(tmp_path, demo_config, files)
    assert f.status == Status.PASS


def test_no_followable_call_is_no_pass(tmp_path, demo_config):
    """A checkout whose calls the rules cannot read gives no evidence either way."""
    files = {
        f"{FN}/_shared/cors.ts": CORS,
        f"{FN}/servers-provision/index.ts": PROVISION,
        f"{MIG}/001_fwd.sql": """
        create function public.fwd() returns trigger language plpgsql as $$
        begin
          perform net.http_post(url := 'https://d.supabase.co/functions/v1/servers-provision',
                                body := to_jsonb(new));
          return new;
        end $$;
        """,
    }
    (f,) = judge(tmp_path, demo_config, files)
    assert f.status == Status.INFO and "1 call(s) in all" in f.reason
