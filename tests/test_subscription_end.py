"""FLOW-SUBSCRIPTION-END-SUSPEND (issue 16, subscription lifecycle): a webhook that only
marks the order cancelled when a subscription ends, with nothing that ever suspends the
panel server, fails as one chain (the event branch, the write); suspending directly,
through a same-file helper, through a called function, or a cron that suspends cancelled
orders passes. Written in several dispatch styles, through the real collector."""

from __future__ import annotations

import pytest

from readiness.checks.registry import all_checks
from tests.test_code_rules_callers import FN, checkout
from tests.test_flow_precision import findings

CHECK = "FLOW-SUBSCRIPTION-END-SUSPEND"
HEAD = """
import Stripe from 'npm:stripe';
import { createClient } from 'npm:@supabase/supabase-js@2';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
const db = createClient(Deno.env.get('SUPABASE_URL')!,
  Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
const PANEL = Deno.env.get('PTERODACTYL_URL');
"""
VERIFY = """
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
"""
PAID = "await db.from('orders').insert({ status: 'paid', user_id: 'u' });"
CANCEL = "await db.from('orders').update({ status: 'canceled' }).eq('sub_id', sub.id);"
SUSPEND = (
    "await fetch(`${PANEL}/api/application/servers/${sub.metadata.server_id}/suspend`, "
    "{ method: 'POST', headers: { Authorization: 'Bearer k' } });"
)
# a panel (so the check applies): provisioning creates servers on it
PROVISION = f"""{HEAD}
Deno.serve(async (req) => {{
  await fetch(`${{PANEL}}/api/application/servers`, {{ method: 'POST', body: '{{}}' }});
  return new Response('ok');
}});
"""


def switch(body: str, helpers: str = "") -> str:
    return f"""{HEAD}{helpers}
Deno.serve(async (req) => {{{VERIFY}
  switch (event.type) {{
    case 'checkout.session.completed':
      {PAID}
      break;
    case 'customer.subscription.deleted': {{
      const sub = event.data.object as Stripe.Subscription;
      {body}
      break;
    }}
  }}
  return new Response('ok');
}});
"""


def if_chain(body: str, helpers: str = "") -> str:
    return f"""{HEAD}{helpers}
Deno.serve(async (req) => {{{VERIFY}
  if (event.type === 'checkout.session.completed') {{
    {PAID}
  }} else if (event.type === 'customer.subscription.updated') {{
    const sub = event.data.object;
    if (sub.status === 'canceled' || sub.status === 'unpaid') {{
      {body}
    }}
  }}
  return new Response('ok');
}});
"""


def handler_map(body: str) -> str:
    return f"""{HEAD}
async function onEnded(sub) {{
  {body}
}}
const handlers = {{
  'checkout.session.completed': async () => {{ {PAID} }},
  'customer.subscription.deleted': onEnded,
}};
Deno.serve(async (req) => {{{VERIFY}
  await handlers[event.type]?.(event.data.object);
  return new Response('ok');
}});
"""


MARK = """
async function markOrders(subId: string, status: string) {
  await db.from('orders').update({ status }).eq('stripe_subscription_id', subId);
}
"""
STOP = """
async function stopServer(serverId: number) {
  const res = await fetch(PANEL + '/api/application/servers/' + serverId + '/suspend',
    { method: 'POST' });
  if (!res.ok) throw new Error('panel');
}
"""

MARKS_ONLY = {
    "switch": switch(CANCEL),
    "if-chain": if_chain(CANCEL),
    "handler-map": handler_map(CANCEL),
    "same-file-helper": switch("await markOrders(sub.id, 'cancelled');", MARK),
}
SUSPENDS = {
    "switch-direct": switch(f"{CANCEL}\n{SUSPEND}"),
    "if-chain-helper": if_chain(f"{CANCEL}\nawait stopServer(sub.metadata.server_id);", STOP),
    "handler-map-direct": handler_map(SUSPEND),
    "client-library": switch("await ptero.suspendServer(Number(sub.metadata.server_id));"),
    "delete": switch(
        "await fetch(`${PANEL}/api/application/servers/${sub.metadata.server_id}`, "
        "{ method: 'DELETE' });"
    ),
}


def verdict(tmp_path, demo_config, hook: str, extra: dict | None = None) -> list:
    all_checks()
    files = {
        f"{FN}/stripe-webhook/index.ts": hook,
        f"{FN}/servers-provision/index.ts": PROVISION,
        **(extra or {}),
    }
    tables = checkout(tmp_path, files)
    return [
        f for f in findings(CHECK, demo_config, tables) if f.resource == "function:stripe-webhook"
    ]


@pytest.mark.parametrize("name", sorted(MARKS_ONLY))
def test_marking_the_row_without_any_suspension_is_one_chain(tmp_path, demo_config, name):
    (found,) = verdict(tmp_path, demo_config, MARKS_ONLY[name])
    assert str(found.status) == "fail", found.reason
    assert found.chain, found.reason
    assert "nothing ever suspends the server" in found.reason
    branch, write = found.locations
    assert branch.location.startswith(f"{FN}/stripe-webhook/index.ts:")
    assert write.location.startswith(f"{FN}/stripe-webhook/index.ts:")
    assert branch.location != write.location


@pytest.mark.parametrize("name", sorted(SUSPENDS))
def test_a_suspension_on_the_end_event_passes(tmp_path, demo_config, name):
    (found,) = verdict(tmp_path, demo_config, SUSPENDS[name])
    assert str(found.status) == "pass", found.reason
    assert "the panel server" in found.reason


def test_a_called_function_that_suspends_passes(tmp_path, demo_config):
    call = (
        "await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/suspend-server`, "
        "{ method: 'POST', body: JSON.stringify({ sub: sub.id }) });"
    )
    suspender = f"""{HEAD}
Deno.serve(async (req) => {{
  const {{ server_id }} = await req.json();
  await fetch(`${{PANEL}}/api/application/servers/${{server_id}}/suspend`, {{ method: 'POST' }});
  return new Response('ok');
}});
"""
    extra = {f"{FN}/suspend-server/index.ts": suspender}
    (found,) = verdict(tmp_path, demo_config, switch(f"{CANCEL}\n{call}"), extra)
    assert str(found.status) == "pass", found.reason
    assert "suspend-server" in found.reason


SWEEP = f"""{HEAD}
Deno.serve(async () => {{
  const {{ data }} = await db.from('orders').select('id, server_id').eq('status', 'canceled');
  for (const o of data ?? []) {{
    await fetch(`${{PANEL}}/api/application/servers/${{o.server_id}}/suspend`,
      {{ method: 'POST' }});
  }}
  return new Response('ok');
}});
"""


SHARED_PANEL = """
const PANEL = Deno.env.get('PTERODACTYL_URL')!;
export async function pteroRequest(path: string, init: RequestInit = {}) {
  return await fetch(`${PANEL}/api/application${path}`, { ...init,
    headers: { Authorization: `Bearer ${Deno.env.get('PTERODACTYL_API_KEY')}` } });
}
export const suspendGameServer = (id: number) =>
  pteroRequest(`/servers/${id}/suspend`, { method: 'POST' });
export async function notifyOwner(id: number) {
  return await pteroRequest(`/servers/${id}`);
}
"""


@pytest.mark.parametrize(
    ("call", "status"),
    # notifyOwner only reads; the module's suspender is never called on the end: a warning
    [("suspendGameServer", "pass"), ("notifyOwner", "warn")],
)
def test_a_helper_imported_from_a_shared_module_is_followed(tmp_path, demo_config, call, status):
    """The shared-module idiom (`_shared/pterodactyl.ts` prefixing /api/application): the
    suspension is seen through the import; a shared helper that only reads is no suspension."""
    hook = f"import {{ {call} }} from '../_shared/ptero.ts';\n" + switch(
        f"{CANCEL}\nawait {call}(Number(sub.metadata.server_id));"
    )
    (found,) = verdict(tmp_path, demo_config, hook, {f"{FN}/_shared/ptero.ts": SHARED_PANEL})
    assert str(found.status) == status, found.reason


def test_a_job_that_suspends_cancelled_orders_passes(tmp_path, demo_config):
    extra = {f"{FN}/lifecycle-sweep/index.ts": SWEEP}
    (found,) = verdict(tmp_path, demo_config, switch(CANCEL), extra)
    assert str(found.status) == "pass", found.reason
    assert "lifecycle-sweep" in found.reason and "'canceled'" in found.reason


def test_an_unrelated_suspender_is_a_warning_not_a_pass(tmp_path, demo_config):
    admin = SWEEP.replace(".eq('status', 'canceled')", ".eq('id', 'x')")
    extra = {f"{FN}/admin-suspend/index.ts": admin}
    (found,) = verdict(tmp_path, demo_config, switch(CANCEL), extra)
    assert str(found.status) == "warn", found.reason


def test_an_unsuspend_is_no_suspension(tmp_path, demo_config):
    body = CANCEL + SUSPEND.replace("/suspend`", "/unsuspend`")
    (found,) = verdict(tmp_path, demo_config, switch(body))
    assert str(found.status) == "fail", found.reason


def test_an_active_update_is_no_end(tmp_path, demo_config):
    hook = if_chain("await db.from('orders').update({ status: 'active' }).eq('s', sub.id);")
    (found,) = verdict(tmp_path, demo_config, hook)
    assert str(found.status) == "fail"
    assert "handles neither" in found.reason


def test_no_end_event_fails_naming_the_missing_handler(tmp_path, demo_config):
    hook = f"""{HEAD}
Deno.serve(async (req) => {{{VERIFY}
  if (event.type === 'checkout.session.completed') {{ {PAID} }}
  return new Response('ok');
}});
"""
    # a one-off shop would be not applicable: this one sells subscriptions
    sell = f"""{HEAD}
Deno.serve(async (req) => {{
  const s = await stripe.checkout.sessions.create({{ mode: 'subscription',
    line_items: [{{ price: 'price_1', quantity: 1 }}],
    success_url: 'https://x.test/ok', cancel_url: 'https://x.test/no' }});
  return new Response(JSON.stringify({{ url: s.url }}));
}});
"""
    (found,) = verdict(tmp_path, demo_config, hook, {f"{FN}/checkout/index.ts": sell})
    assert str(found.status) == "fail"
    assert "handles neither customer.subscription.deleted" in found.reason
    shop = checkout(tmp_path / "shop", {f"{FN}/stripe-webhook/index.ts": hook})
    (none,) = findings(CHECK, demo_config, shop)
    assert str(none.status) == "not_applicable", none.reason


def test_without_a_panel_it_is_not_applicable(tmp_path, demo_config):
    all_checks()
    hook = switch(CANCEL).replace("const PANEL = Deno.env.get('PTERODACTYL_URL');", "")
    tables = checkout(tmp_path, {f"{FN}/stripe-webhook/index.ts": hook})
    panel = demo_config.sources.pterodactyl.model_copy(update={"enabled": False})
    sources = demo_config.sources.model_copy(update={"pterodactyl": panel})
    config = demo_config.model_copy(update={"sources": sources})
    (found,) = findings(CHECK, config, tables)
    assert str(found.status) == "not_applicable", found.reason
    assert "panel" in found.reason
