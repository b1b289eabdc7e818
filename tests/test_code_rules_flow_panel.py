"""The purchase-flow and panel code rules, each on at least two differently written
snippets (helpers vs inline, switch vs if, Deno.serve vs serve, maps vs per-game tables)."""

from __future__ import annotations

from readiness.static.rules import flow, panel
from readiness.static.ts.syntax import parse_source


def pf(src: str, slug: str = "fn"):
    return parse_source(f"supabase/functions/{slug}/index.ts", src.encode(), slug)


WEBHOOK_SWITCH = """
async function record(session) {
  const { data } = await db.from('orders').insert({
    status: 'paid', user_id: session.metadata.user_id });
  return data;
}
async function kick(id) {
  await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/servers-provision`, { method: 'POST' });
}
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(), sig, secret);
  switch (event.type) {
    case 'checkout.session.completed': {
      const order = await record(event.data.object);
      await kick(order.id);
      break;
    }
  }
  return new Response('ok');
});
"""

WEBHOOK_IF = """
import { serve } from 'https://deno.land/std/http/server.ts';
serve(async (request: Request) => {
  const evt = stripe.webhooks.constructEvent(body, sig, secret);
  const { type } = evt;
  if (type === 'checkout.session.completed') {
    await supabase.from('orders').upsert({ status: 'paid' },
      { onConflict: 'stripe_subscription_id' });
    await supabase.functions.invoke('provision-server', { body: { id: 1 } });
  } else if (type === 'invoice.paid') {
    await supabase.from('orders').insert({ status: 'paid' });
  }
  return new Response('ok');
});
"""


def test_webhook_actions_switch_and_helpers():
    rows = flow.webhook_actions(pf(WEBHOOK_SWITCH, "stripe-webhook"))
    got = {(r["action"], r["event_type"], r["target"]) for r in rows}
    assert ("order_insert", "checkout.session.completed", "orders") in got
    assert ("provision_trigger", "checkout.session.completed", "servers-provision") in got


def test_webhook_actions_if_chain_and_invoke():
    rows = flow.webhook_actions(pf(WEBHOOK_IF, "stripe-webhook"))
    got = {(r["action"], r["event_type"], r["target"]) for r in rows}
    assert ("order_insert", "checkout.session.completed", "orders") in got
    assert ("provision_trigger", "checkout.session.completed", "provision-server") in got
    assert ("order_insert", "invoke.paid", "orders") not in got
    assert ("order_insert", "invoice.paid", "orders") in got


def test_uncalled_trigger_has_no_event():
    src = WEBHOOK_SWITCH.replace("await kick(order.id);", "")
    rows = flow.webhook_actions(pf(src, "stripe-webhook"))
    trig = [r for r in rows if r["action"] == "provision_trigger"]
    assert trig and all(r["event_type"] is None for r in trig)


PROVISION_HELPER = """
async function markError(id: string, msg: string) {
  await db.from('orders').update({ status: 'error', error_message: msg }).eq('id', id);
}
Deno.serve(async (req) => {
  let orderId = null;
  try {
    const { data: claimed, error: claimError } = await db.from('orders')
      .update({ status: 'provisioning' }).eq('id', id).in('status', ['paid']).select('id');
    if (claimError) throw claimError;
    if (!claimed?.length) return new Response('busy', { status: 409 });
    orderId = id;
    const node = await pickNode();
    if (!node) {
      await markError(id, 'no node');
      return new Response('full', { status: 503 });
    }
    if (!free) return new Response('no port', { status: 503 });
    const { error } = await db.from('orders').update({ status: 'provisioned' }).eq('id', id);
    if (error) throw error;
    return new Response('ok');
  } catch (err) {
    if (orderId) await markError(orderId, String(err));
    return new Response('failed', { status: 500 });
  }
});
"""

PROVISION_FINALLY = """
const setStatus = async (id, status) => db.from('orders').update({ status }).eq('id', id);
export default {
  async fetch(request) {
    let done = false;
    try {
      await setStatus(id, 'installing');
      if (!ok) return new Response('bad', { status: 400 });
      await setStatus(id, 'active');
      done = true;
      return new Response('ok');
    } finally {
      if (!done) await setStatus(id, 'error');
    }
  },
};
"""


def test_status_exits_find_the_return_without_final_status():
    rows = flow.status_exits(pf(PROVISION_HELPER, "servers-provision"))
    bad = [r for r in rows if not r["final_status_set"]]
    assert [r["kind"] for r in bad] == ["return"]
    assert "if (!free)" in PROVISION_HELPER.splitlines()[bad[0]["line"] - 1]
    kinds = {r["kind"]: r["how"] for r in rows if r["final_status_set"]}
    assert kinds["uncaught"] == "catch"


def test_status_exits_finally_and_param_helper():
    rows = flow.status_exits(pf(PROVISION_FINALLY, "servers-provision"))
    assert rows and all(r["final_status_set"] for r in rows)
    assert {r["how"] for r in rows if r["kind"] == "return"} == {"finally", "dominated"}
    assert [r["how"] for r in rows if r["kind"] == "uncaught"] == ["finally"]


def test_status_exits_without_catch_report_uncaught():
    src = PROVISION_HELPER.replace("if (orderId) await markError(orderId, String(err));", "")
    rows = flow.status_exits(pf(src, "servers-provision"))
    bad = {r["kind"] for r in rows if not r["final_status_set"]}
    assert {"uncaught", "return"} <= bad


def test_status_writes_direct_and_through_helpers():
    rows = flow.status_writes(pf(PROVISION_HELPER))
    assert {r["value"] for r in rows} == {"error", "provisioning", "provisioned"}
    rows = flow.status_writes(pf(PROVISION_FINALLY))
    assert {(r["value"], r["helper"]) for r in rows} == {
        ("installing", "setStatus"),
        ("active", "setStatus"),
        ("error", "setStatus"),
    }


EGGS_SEPARATE = """
const EGG_IDS: Record<string, number> = { minecraft: 39, rust: 50 };
const IMAGES = { minecraft: 'yolks:java_21', rust: 'games:rust' };
const ENV = { minecraft: { SERVER_JARFILE: 'server.jar' }, rust: { HOSTNAME: 'x', LEVEL: 'y' } };
async function create(game: string) {
  const eggId = EGG_IDS[game];
  await panel('/api/application/servers', {
    method: 'POST',
    body: JSON.stringify({ egg: eggId, docker_image: IMAGES[game],
      environment: { ...ENV[game], MAX_PLAYERS: '10' }, limits: { memory: 1024 } }),
  });
}
"""

EGGS_TABLE = """
const GAMES = {
  minecraft: { egg: 39, image: 'yolks:java_21', env: { SERVER_JARFILE: 'server.jar' } },
  terraria: { egg: 16, image: 'yolks:debian', env: { WORLD_NAME: 'w' } },
};
function payload(order) {
  const { egg, image } = GAMES[order.game];
  const rt = GAMES[order.game];
  return { name: order.name, egg, docker_image: image, environment: rt.env,
    allocation: { default: 1 } };
}
"""


def test_egg_map_separate_maps_and_per_game_table():
    rows = panel.egg_map(pf(EGGS_SEPARATE))
    assert {(r["game"], r["egg_id"]) for r in rows} == {("minecraft", 39), ("rust", 50)}
    rows = panel.egg_map(pf(EGGS_TABLE))
    assert {(r["game"], r["egg_id"]) for r in rows} == {("minecraft", 39), ("terraria", 16)}


def test_server_payload_env_and_images():
    rows = panel.server_payload(pf(EGGS_SEPARATE))
    env = {(r["game"], r["value"]) for r in rows if r["field"] == "environment"}
    assert ("rust", "LEVEL") in env and ("rust", "MAX_PLAYERS") in env
    assert ("minecraft", "HOSTNAME") not in env
    images = {(r["game"], r["value"]) for r in rows if r["field"] == "docker_image"}
    assert images == {("minecraft", "yolks:java_21"), ("rust", "games:rust")}
    rows = panel.server_payload(pf(EGGS_TABLE))
    env = {(r["game"], r["value"]) for r in rows if r["field"] == "environment"}
    assert env == {("minecraft", "SERVER_JARFILE"), ("terraria", "WORLD_NAME")}
    assert all(r["resolved"] for r in rows)


def test_server_payload_unresolved_environment():
    src = EGGS_TABLE.replace("environment: rt.env", "environment: await loadEnv(order)")
    rows = panel.server_payload(pf(src))
    assert [r["resolved"] for r in rows if r["field"] == "environment"] == [False]


CAPACITY_INLINE = """
const { data } = await supabase.from('orders').select('node_id, plans(ram_gb)')
  .in('status', ['paid', 'provisioning', 'active']).not('node_id', 'is', null);
await supabase.from('orders').update({ status: 'provisioning' }).in('status', ['paid']);
"""
CAPACITY_CONST = """
const COUNTED = ['paid', 'provisioning', 'installing', 'active', 'provisioned'] as const;
async function used(db) {
  return await db.from('orders').select('ram_gb, node_id').eq('node_id', 3).in('status', COUNTED);
}
"""


def test_capacity_queries_inline_and_constant():
    rows = panel.capacity_queries(pf(CAPACITY_INLINE))
    assert [r["statuses"] for r in rows] == ["paid,provisioning,active"]
    rows = panel.capacity_queries(pf(CAPACITY_CONST))
    assert rows[0]["resolved"] and rows[0]["statuses"].split(",")[2] == "installing"


PASSWORD_PATCH = """
if (existing) {
  await panel(`/users/${existing.id}`, { method: 'PATCH',
    body: JSON.stringify({ email, password: crypto.randomUUID() }) });
}
"""
PASSWORD_FETCH = """
const body = { username, email, password: tmp };
const init = { method: 'PUT', headers, body: JSON.stringify(body) };
await fetch(PANEL + '/api/application/users/' + user.id, init);
await fetch(`${PANEL}/api/application/users`, { method: 'POST', body: JSON.stringify({ email }) });
"""


def test_panel_user_writes_patch_and_put():
    rows = panel.panel_user_writes(pf(PASSWORD_PATCH))
    assert [(r["method"], r["existing_user"], r["sends_password"]) for r in rows] == [
        ("PATCH", True, True)
    ]
    rows = panel.panel_user_writes(pf(PASSWORD_FETCH))
    got = {(r["method"], r["sends_password"]) for r in rows}
    assert got == {("PUT", True), ("POST", False)}
