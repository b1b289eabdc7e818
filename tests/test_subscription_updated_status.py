"""FLOW-SUBSCRIPTION-UPDATED-STATUS (issue 16, subscription lifecycle): a webhook that sets
an order paid/active on customer.subscription.updated whatever the subscription's status
fails, one finding per webhook with every such write a location; a write guarded by the
subscription's status (if, switch, early return, &&), a status mapped from it, or an
unrelated write passes. Written in several dispatch styles, through the real collector."""

from __future__ import annotations

import pytest

from readiness.checks.registry import all_checks
from tests.test_code_rules_callers import FN, checkout
from tests.test_flow_precision import findings

CHECK = "FLOW-SUBSCRIPTION-UPDATED-STATUS"
HEAD = """
import Stripe from 'npm:stripe';
import { createClient } from 'npm:@supabase/supabase-js@2';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
const supabase = createClient(Deno.env.get('SUPABASE_URL')!,
  Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
"""
VERIFY = """
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
"""
CHECKOUT = "await supabase.from('orders').insert({ status: 'paid', user_id: 'u' });"
ACTIVE = "await supabase.from('orders').update({ status: 'active' }).eq('sub_id', sub.id);"


def switch(body: str, helpers: str = "") -> str:
    return f"""{HEAD}{helpers}
Deno.serve(async (req) => {{{VERIFY}
  switch (event.type) {{
    case 'checkout.session.completed':
      {CHECKOUT}
      break;
    case 'customer.subscription.updated': {{
      const sub = event.data.object as Stripe.Subscription;
      {body}
      break;
    }}
  }}
  return new Response('ok');
}});
"""


def if_chain(body: str) -> str:
    return f"""{HEAD}
Deno.serve(async (req) => {{{VERIFY}
  if (event.type === 'checkout.session.completed') {{
    {CHECKOUT}
  }} else if (event.type === 'customer.subscription.updated') {{
    const sub = event.data.object;
    {body}
  }}
  return new Response('ok');
}});
"""


def event_map(body: str) -> str:
    return f"""{HEAD}
const handlers = {{
  'checkout.session.completed': async (session) => {{ {CHECKOUT} }},
  'customer.subscription.updated': async (sub) => {{
    {body}
  }},
}};
Deno.serve(async (req) => {{{VERIFY}
  await handlers[event.type]?.(event.data.object);
  return new Response('ok');
}});
"""


HELPER = """
async function setStatus(subId: string, status: string) {
  await supabase.from('orders').update({ status }).eq('stripe_subscription_id', subId);
}
"""
UNGUARDED = {
    "switch": switch(ACTIVE),
    "switch-paid-helper": switch("await setStatus(sub.id, 'paid');", HELPER),
    "switch-guard-on-order-only": switch(
        "const { data: order } = await supabase.from('orders').select().single();\n"
        f"if (order.status === 'error') {ACTIVE}"
    ),
    "if-chain": if_chain(ACTIVE.replace("'active'", "'provisioned'")),
    "event-map": event_map(ACTIVE),
    "switch-through-a-const": switch(
        "const next = 'active';\n"
        "await supabase.from('orders').update({ status: next }).eq('sub_id', sub.id);"
    ),
}
GUARDED = {
    "switch-if-active": switch(
        f"if (sub.status === 'active' || sub.status === 'trialing') {{\n{ACTIVE}\n}}"
    ),
    "switch-early-break": switch(f"if (sub.status !== 'active') break;\n{ACTIVE}"),
    "switch-on-status": switch(
        f"switch (sub.status) {{\n case 'active': {ACTIVE} break;\n"
        " default: await setStatus(sub.id, 'suspended');\n}",
        HELPER,
    ),
    "switch-and": switch(f"sub.status === 'active' && {ACTIVE.removeprefix('await ')}"),
    "switch-mapped-ternary": switch(
        "await supabase.from('orders').update({ status: sub.status === 'active' ? "
        "'active' : 'suspended' }).eq('sub_id', sub.id);"
    ),
    "switch-mapped-helper": switch(
        "await setStatus(sub.id, mapStatus(sub.status));",
        HELPER + "function mapStatus(s: string) { return s === 'active' ? 'active' : 'off'; }\n",
    ),
    "if-chain-early-return": if_chain(
        f"if (sub.status !== 'active') return new Response('ok');\n{ACTIVE}"
    ),
    "if-chain-includes": if_chain(
        f"if (['active', 'trialing'].includes(sub.status)) {{ {ACTIVE} }}"
    ),
    "event-map-early-return": event_map(f"if (sub.status !== 'active') return;\n{ACTIVE}"),
    "event-map-mapped": event_map(
        "await supabase.from('orders').update({ status: sub.status }).eq('sub_id', sub.id);"
    ),
    "helper-called-under-guard": switch(
        "if (sub.status === 'active') await setStatus(sub.id, 'active');", HELPER
    ),
}
UNRELATED = {
    "period-end-only": switch(
        "await supabase.from('orders').update({ current_period_end: sub.current_period_end })"
        ".eq('sub_id', sub.id);"
    ),
    "cancel-only": switch(
        "if (sub.cancel_at_period_end) await setStatus(sub.id, 'canceling');", HELPER
    ),
}


def verdict(tmp_path, demo_config, hook: str) -> list:
    all_checks()
    tables = checkout(tmp_path, {f"{FN}/stripe-webhook/index.ts": hook})
    return [
        f for f in findings(CHECK, demo_config, tables) if f.resource == "function:stripe-webhook"
    ]


@pytest.mark.parametrize("name", sorted(UNGUARDED))
def test_an_unguarded_paid_write_on_subscription_updated_fails(tmp_path, demo_config, name):
    (found,) = verdict(tmp_path, demo_config, UNGUARDED[name])
    assert str(found.status) == "fail", found.reason
    assert "without testing the subscription's status" in found.reason
    assert len(found.locations) >= 1
    assert found.location.startswith(f"{FN}/stripe-webhook/index.ts:")


@pytest.mark.parametrize("name", sorted(GUARDED) + sorted(UNRELATED))
def test_a_guarded_mapped_or_unrelated_write_passes(tmp_path, demo_config, name):
    hook = {**GUARDED, **UNRELATED}[name]
    (found,) = verdict(tmp_path, demo_config, hook)
    assert str(found.status) == "pass", found.reason
    if name in GUARDED:  # judged on the write, not passed for want of one
        assert "guarded by" in found.reason or "derives the status" in found.reason


def test_the_checkout_write_of_paid_is_never_judged(tmp_path, demo_config):
    hook = switch("console.log(sub.id);")
    (found,) = verdict(tmp_path, demo_config, hook)
    assert str(found.status) == "pass"
    assert "without writing an order status" in found.reason


def test_no_handler_passes_with_a_reason(tmp_path, demo_config):
    hook = f"""{HEAD}
Deno.serve(async (req) => {{{VERIFY}
  if (event.type === 'checkout.session.completed') {{ {CHECKOUT} }}
  return new Response('ok');
}});
"""
    (found,) = verdict(tmp_path, demo_config, hook)
    assert str(found.status) == "pass"
    assert "does not handle customer.subscription.updated" in found.reason


def test_every_unguarded_write_is_a_location_of_one_finding(tmp_path, demo_config):
    hook = switch(f"{ACTIVE}\nawait setStatus(sub.id, 'paid');", HELPER)
    (found,) = verdict(tmp_path, demo_config, hook)
    assert str(found.status) == "fail"
    assert len({place.location for place in found.locations}) == 2


def test_no_stripe_webhook_is_not_applicable(tmp_path, demo_config):
    all_checks()
    other = "Deno.serve(async (req) => new Response('ok'));\n"
    tables = checkout(tmp_path, {f"{FN}/hello/index.ts": other})
    (found,) = findings(CHECK, demo_config, tables)
    assert str(found.status) == "not_applicable"
    assert "Stripe webhook" in found.reason
