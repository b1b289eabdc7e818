"""False-positive classes of the webhook, checkout and purchase-flow checks found on public
code (issue 13 §4), each on snippets written in several styles, next to the true pattern
that must stay found. Every case runs the whole codebase source, then the check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.sources.codebase import collect_codebase
from tests.conftest import make_snapshot
from tests.problems import statuses

FN = "supabase/functions"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def tables(root: Path, files: dict[str, str]) -> dict[str, pd.DataFrame]:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return collect_codebase(root).tables


def verdicts(check_id: str, config, t: dict[str, pd.DataFrame]) -> dict[str, str]:
    """{resource: status} of one check's findings."""
    found = evaluate_check(REGISTRY[check_id], make_snapshot(t), config)
    return statuses(found)


def findings(check_id: str, config, t: dict[str, pd.DataFrame]):
    return evaluate_check(REGISTRY[check_id], make_snapshot(t), config)


# Which functions are Stripe webhooks ------------------------------------------------------

SHOPIFY_HMAC = """
const SECRET = Deno.env.get("SHOPIFY_WEBHOOK_SECRET") ?? "";
async function verify(body: string, hmac: string): Promise<boolean> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
  return btoa(String.fromCharCode(...new Uint8Array(mac))) === hmac;
}
Deno.serve(async (req) => {
  const body = await req.text();
  if (!(await verify(body, req.headers.get("x-shopify-hmac-sha256") ?? ""))) {
    return new Response("bad hmac", { status: 401 });
  }
  const order = JSON.parse(body);
  await supabase.from("shopify_orders").upsert({ id: order.id });
  return new Response("ok");
});
"""

PAYSTACK = """
import { serve } from "https://deno.land/std@0.168.0/http/server.ts";
serve(async (req) => {
  const event = JSON.parse(await req.text());
  switch (event.event) {
    case 'charge.success':
      await supabase.from('transactions').insert({ ref: event.data.reference });
      break;
    case 'invoice.payment_failed':
      break;
  }
  return new Response('ok');
});
"""

# a Stripe webhook that never verifies: it reads the header and parses the body itself
STRIPE_UNVERIFIED = """
Deno.serve(async (req) => {
  const signature = req.headers.get('stripe-signature');
  const event = JSON.parse(await req.text());
  if (event.type === 'checkout.session.completed') {
    await supabase.from('orders').insert({ status: 'paid' });
  }
  return new Response('ok');
});
"""


def test_other_providers_webhooks_are_not_stripe_webhooks(tmp_path: Path, demo_config) -> None:
    t = tables(
        tmp_path,
        {
            f"{FN}/shopify-webhook/index.ts": SHOPIFY_HMAC,
            f"{FN}/handle-paystack-webhook/index.ts": PAYSTACK,
            f"{FN}/payments-hook/index.ts": STRIPE_UNVERIFIED,
        },
    )
    fns = t["code_functions"].set_index("slug")["is_stripe_webhook"]
    assert not fns["shopify-webhook"] and not fns["handle-paystack-webhook"]
    assert fns["payments-hook"]  # reads Stripe-Signature: Stripe events arrive here
    for check_id in (
        "STRIPE-WEBHOOK-SIGNATURE",
        "STRIPE-WEBHOOK-HANDLES-CHECKOUT",
        "STRIPE-WEBHOOK-FAILED-PAYMENT",
        "FLOW-WEBHOOK-ORDER",
        "ERR-WEBHOOK-NON2XX",
    ):
        got = verdicts(check_id, demo_config, t)
        assert not any("shopify" in r or "paystack" in r for r in got), (check_id, got)
    # the true pattern stays found: a Stripe webhook without any verification
    assert verdicts("STRIPE-WEBHOOK-SIGNATURE", demo_config, t) == {
        "function:payments-hook": "fail"
    }


@pytest.mark.parametrize(
    ("slug", "body", "is_stripe"),
    [
        ("stripe-webhook", "Deno.serve(() => new Response('ok'))\n", True),  # named so
        (
            "billing-webhook",
            "import Stripe from 'https://esm.sh/stripe@14?target=deno';\n"
            "Deno.serve(() => new Response('ok'))\n",
            True,
        ),
        (
            "events-webhook",
            "export default { async fetch(r) { const e = await r.json();\n"
            "  if (e.type === 'customer.subscription.deleted') {}\n"
            "  return new Response('ok') } }\n",
            True,
        ),
        ("calendly-webhook", "Deno.serve(() => new Response('ok'))\n", False),
        ("create-checkout", "import Stripe from 'npm:stripe@14';\n", False),
    ],
)
def test_stripe_webhook_signals(tmp_path: Path, slug: str, body: str, is_stripe: bool) -> None:
    t = tables(tmp_path, {f"{FN}/{slug}/index.ts": body})
    assert bool(t["code_functions"].set_index("slug").loc[slug, "is_stripe_webhook"]) is is_stripe


# Signatures verified by hand or in a helper -----------------------------------------------

WEB_CRYPTO = """
const secret = Deno.env.get('STRIPE_WEBHOOK_SECRET')!;
async function verifyStripe(payload: string, header: string): Promise<boolean> {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, enc.encode(`${parts.t}.${payload}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex === parts.v1;
}
Deno.serve(async (req) => {
  const payload = await req.text();
  if (!(await verifyStripe(payload, req.headers.get('Stripe-Signature') ?? ''))) {
    return new Response('bad signature', { status: 400 });
  }
  const event = JSON.parse(payload);
  if (event.type === 'checkout.session.completed') {
    await supabase.from('orders').insert({ status: 'paid' });
  }
  return new Response('ok');
});
"""

NODE_HMAC = """
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hono } from 'npm:hono';
const app = new Hono();
app.post('/stripe-webhook', async (c) => {
  const raw = await c.req.text();
  const header = c.req.header('stripe-signature') ?? '';
  const [t, v1] = header.split(',').map((kv) => kv.split('=')[1]);
  const expected = createHmac('sha256', process.env.STRIPE_WEBHOOK_SECRET!)
    .update(`${t}.${raw}`).digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(v1))) return c.text('no', 400);
  await supabase.from('orders').insert({ status: 'paid' });
  return c.text('ok');
});
Deno.serve(app.fetch);
"""

SHARED_HELPER = """
export async function verifyStripeSignature(body: string, header: string, secret: string) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return crypto.subtle.verify('HMAC', key, hexToBytes(header), new TextEncoder().encode(body));
}
"""

SHARED_CALLER = """
import { verifyStripeSignature } from '../_shared/stripe-signature.ts';
Deno.serve(async (req) => {
  const body = await req.text();
  const ok = await verifyStripeSignature(body, req.headers.get('stripe-signature')!,
    Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  if (!ok) return new Response('invalid', { status: 400 });
  return new Response('ok');
});
"""

SDK_HELPER = """
import Stripe from 'npm:stripe@14';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
export function readEvent(body: string, sig: string, whsec: string) {
  return stripe.webhooks.constructEventAsync(body, sig, whsec);
}
"""

SDK_CALLER = """
import { readEvent } from '../_shared/events.ts';
Deno.serve(async (req) => {
  const event = await readEvent(await req.text(), req.headers.get('stripe-signature')!,
    Deno.env.get('STRIPE_WEBHOOK_SIGNING_SECRET')!);
  return new Response(event.id);
});
"""


@pytest.mark.parametrize(
    "files",
    [
        {f"{FN}/stripe-webhook/index.ts": WEB_CRYPTO},
        {f"{FN}/stripe-webhook/index.ts": NODE_HMAC},
        {
            f"{FN}/_shared/stripe-signature.ts": SHARED_HELPER,
            f"{FN}/stripe-webhook/index.ts": SHARED_CALLER,
        },
        {f"{FN}/_shared/events.ts": SDK_HELPER, f"{FN}/stripe-webhook/index.ts": SDK_CALLER},
    ],
    ids=["web-crypto", "node-createHmac", "imported-hmac-helper", "imported-sdk-helper"],
)
def test_signature_by_hand_or_helper_counts(tmp_path: Path, demo_config, files) -> None:
    t = tables(tmp_path, files)
    assert verdicts("STRIPE-WEBHOOK-SIGNATURE", demo_config, t) == {
        "function:stripe-webhook": "pass"
    }


def test_hand_hmac_with_a_literal_secret_or_after_writes_still_fails(
    tmp_path: Path, demo_config
) -> None:
    literal = WEB_CRYPTO.replace("Deno.env.get('STRIPE_WEBHOOK_SECRET')!", "'whsec_123'")
    late = NODE_HMAC.replace(
        "const raw = await c.req.text();",
        "const raw = await c.req.text();\n  await supabase.from('events').insert({ raw });",
    )
    t = tables(
        tmp_path,
        {f"{FN}/stripe-webhook/index.ts": literal, f"{FN}/stripe-hook/index.ts": late},
    )
    assert verdicts("STRIPE-WEBHOOK-SIGNATURE", demo_config, t) == {
        "function:stripe-webhook": "fail",
        "function:stripe-hook": "fail",
    }


# Calls between functions ------------------------------------------------------------------

PROVISIONER = """
Deno.serve(async (req) => {
  const { order_id } = await req.json();
  await db.from('orders').update({ status: 'provisioning' }).eq('id', order_id);
  await db.from('orders').update({ status: 'provisioned' }).eq('id', order_id);
  return new Response('ok');
});
"""

PAID_WEBHOOK = """
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  if (event.type === 'checkout.session.completed') {
    const { data: order } = await db.from('orders').insert({ status: 'paid' }).select().single();
    CALL
  }
  return new Response('ok');
});
"""

CALL_STYLES = {
    "template-base-const": (
        "const functionsUrl = `${Deno.env.get('SUPABASE_URL')}/functions/v1`;",
        "await fetch(`${functionsUrl}/servers-provision`, { method: 'POST' });",
    ),
    "env-base": (
        "const FUNCTIONS_URL = Deno.env.get('FUNCTIONS_URL');",
        "await fetch(`${FUNCTIONS_URL}/servers-provision`, { method: 'POST' });",
    ),
    "concatenation": (
        "const base = Deno.env.get('SUPABASE_URL') + '/functions/v1/';",
        "await fetch(base + 'servers-provision', { method: 'POST' });",
    ),
    "invoke": ("", "await supabase.functions.invoke('servers-provision', { body: order });"),
    "wrapper": (
        "async function callFunction(name: string, body: unknown) {\n"
        "  return fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/${name}`,\n"
        "    { method: 'POST', body: JSON.stringify(body) });\n}",
        "await callFunction('servers-provision', { order_id: order.id });",
    ),
}


@pytest.mark.parametrize("style", sorted(CALL_STYLES))
def test_webhook_to_provisioner_calls_in_every_style(tmp_path: Path, demo_config, style):
    top, call = CALL_STYLES[style]
    webhook = top + "\n" + PAID_WEBHOOK.replace("CALL", call)
    t = tables(
        tmp_path,
        {f"{FN}/stripe-webhook/index.ts": webhook, f"{FN}/servers-provision/index.ts": PROVISIONER},
    )
    assert verdicts("FLOW-WEBHOOK-PROVISION", demo_config, t) == {"function:stripe-webhook": "pass"}


def test_a_call_to_a_non_provisioning_function_is_not_provisioning(tmp_path: Path, demo_config):
    webhook = PAID_WEBHOOK.replace(
        "CALL", "await supabase.functions.invoke('send-booking-email', { body: order });"
    )
    t = tables(tmp_path, {f"{FN}/stripe-webhook/index.ts": webhook})
    (found,) = findings("FLOW-WEBHOOK-PROVISION", demo_config, t)
    assert found.resource == "function:stripe-webhook" and "send-booking-email" not in found.reason
    # true pattern: a hosting webhook that never reaches its provisioner stays failed
    t = tables(tmp_path, {f"{FN}/servers-provision/index.ts": PROVISIONER})
    (found,) = findings("FLOW-WEBHOOK-PROVISION", demo_config, t)
    assert str(found.status) == "fail" and "servers-provision" in found.reason


# Where the checkout's price comes from ----------------------------------------------------

CHECKOUT = """
Deno.serve(async (req) => {
  const body = await req.json();
  BEFORE
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [LINE],
    success_url: 'https://x/ok', cancel_url: 'https://x/no',
  });
  return new Response(session.url);
});
"""

HELPER_PARAMETER = """
async function getPlan(id: number) {
  const { data } = await db.from('plans').select('*').eq('id', id).single();
  return data;
}
async function openSession(priceId: string) {
  const s = await stripe.checkout.sessions.create({ mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }] });
  return s.url;
}
Deno.serve(async (req) => {
  const { planId } = await req.json();
  const plan = await getPlan(planId);
  return new Response(await openSession(plan.price_id));
});
"""


SERVER_SIDE = {
    "helper-parameter": (HELPER_PARAMETER,),
    "wrappers-and-branches": (
        "const { data: flight } = await db.from('flights').select('*')\n"
        "    .eq('id', body.id).single();\n"
        "  let unit: number;\n"
        "  if (body.cabin === 'first') unit = Number(flight.first_price);\n"
        "  else unit = parseFloat(flight.base_price);",
        "{ price_data: { currency: 'eur', unit_amount: Math.round(unit * 100) },"
        " quantity: body.seats }",
    ),
    "stored-price-times-quantity": (
        "const { data: spot } = await db.from('spots').select('rate')\n"
        "    .eq('id', body.spot).single();\n"
        "  const total = spot.rate * body.hours;",
        "{ price_data: { currency: 'usd', unit_amount: Math.round(total * 100) }, quantity: 1 }",
    ),
    "env-price-id": (
        "const priceId = Deno.env.get('STRIPE_PRICE_PRO')!;",
        "{ price: priceId, quantity: 1 }",
    ),
    "constants-per-plan": (
        "const amount = body.plan === 'yearly' ? 24000 : 2500;",
        "{ price_data: { currency: 'usd', unit_amount: amount }, quantity: 1 }",
    ),
    "stored-rates-with-optional-fee": (
        "const { data: spot } = await db.from('spots').select('*')\n"
        "    .eq('id', body.spot).single();\n"
        "  const ev = body.ev ? Math.round(spot.ev_rate * body.hours * 100) / 100 : 0;\n"
        "  const total = spot.rate * body.hours + ev;",
        "{ price_data: { currency: 'usd', unit_amount: Math.round(total * 100) }, quantity: 1 }",
    ),
    "stored-price-with-default": (
        "const { data: fee } = await db.rpc('get_membership_price');",
        "{ price_data: { currency: 'eur', unit_amount: Math.round(Number(fee ?? 89) * 100) },"
        " quantity: 1 }",
    ),
    "constants-assigned-per-plan": (
        "let cents: number;\n"
        "  switch (body.plan) {\n"
        "    case 'annual': cents = 108300; break;\n"
        "    default: cents = 9700;\n  }",
        "{ price_data: { currency: 'usd', unit_amount: cents }, quantity: 1 }",
    ),
    "server-map": (
        "const PRICES: Record<string, string> = { pro: 'price_1Pro', max: 'price_1Max' };",
        "{ price: PRICES[body.plan], quantity: 1 }",
    ),
}


def _checkout(before: str, line: str = "") -> str:
    if not line:
        return before  # a whole snippet
    return CHECKOUT.replace("BEFORE", before).replace("LINE", line)


@pytest.mark.parametrize("style", sorted(SERVER_SIDE))
def test_server_side_prices_are_not_findings(tmp_path: Path, demo_config, style) -> None:
    t = tables(tmp_path, {f"{FN}/create-checkout/index.ts": _checkout(*SERVER_SIDE[style])})
    got = findings("STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, t)
    assert got and all(str(f.status) == "pass" for f in got), [(f.status, f.reason) for f in got]


CLIENT_PRICED = {
    "body-price-id": ("const { priceId } = body;", "{ price: priceId, quantity: 1 }"),
    "items-from-body": (
        "const items = body.items;",
        "...items.map((item) => ({ price_data: { currency: 'usd',"
        " unit_amount: Math.round(Number(item.price) * 100) }, quantity: item.quantity }))",
    ),
    "body-amount-in-one-branch": (
        "let cents: number;\n  if (body.custom) cents = body.amount;\n  else cents = 500;",
        "{ price_data: { currency: 'usd', unit_amount: cents }, quantity: 1 }",
    ),
    "stored-price-minus-body-discount": (
        "const { data: p } = await db.from('plans').select('amount').eq('id', body.id).single();",
        "{ price_data: { currency: 'usd', unit_amount: p.amount - body.discount }, quantity: 1 }",
    ),
}


@pytest.mark.parametrize("style", sorted(CLIENT_PRICED))
def test_client_chosen_prices_stay_failed(tmp_path: Path, demo_config, style) -> None:
    t = tables(tmp_path, {f"{FN}/create-checkout/index.ts": _checkout(*CLIENT_PRICED[style])})
    got = findings("STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, t)
    assert [str(f.status) for f in got] == ["fail"] and "request" in got[0].reason


NEXT_HELPER = """
import Stripe from 'stripe';
const stripe = new Stripe(process.env.STRIPE_SECRET_KEY!);
export async function createCheckoutSession(priceId: string) {
  return stripe.checkout.sessions.create({ mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }] });
}
"""

NEXT_ROUTE = """
import Stripe from 'stripe';
const stripe = new Stripe(process.env.STRIPE_SECRET_KEY!);
export async function POST(req: Request) {
  const { priceId } = await req.json();
  const session = await stripe.checkout.sessions.create({ mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }] });
  return Response.json({ url: session.url });
}
"""


def test_a_checkout_helper_nothing_imports_is_not_the_live_checkout(tmp_path: Path, demo_config):
    t = tables(
        tmp_path,
        {
            "utils/stripe/subscription.ts": NEXT_HELPER,
            "app/api/checkout/route.ts": NEXT_ROUTE,
        },
    )
    got = {
        f.location: str(f.status) for f in findings("STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, t)
    }
    assert got == {"app/api/checkout/route.ts:6": "fail", "utils/stripe/subscription.ts:5": "pass"}
    # imported by the route, the same helper is live code again
    route = "import { createCheckoutSession } from '../../../utils/stripe/subscription';\n"
    t = tables(tmp_path, {"app/api/checkout/route.ts": route + NEXT_ROUTE})
    got = {
        f.location: str(f.status) for f in findings("STRIPE-CHECKOUT-PRICE-SOURCE", demo_config, t)
    }
    assert got["utils/stripe/subscription.ts:5"] == "warn"


# The webhook records the purchase ---------------------------------------------------------

RECORDING = {
    "pre-created-order-marked-paid": (
        "await admin.from('orders').update({ status: 'paid', paid_at: new Date() })"
        ".eq('id', session.metadata.order_id);"
    ),
    "booking-by-rpc": "await supabase.rpc('create_booking', { p_session: session.id });",
    "booking-upsert": "await db.from('bookings').upsert({ id: session.metadata.booking_id });",
}


def _paid_webhook(body: str) -> str:
    return f"""
    Deno.serve(async (req) => {{
      const event = await stripe.webhooks.constructEventAsync(await req.text(),
        req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
      switch (event.type) {{
        case 'checkout.session.completed': {{
          const session = event.data.object;
          {body}
          break;
        }}
      }}
      return new Response('ok');
    }});
    """


@pytest.mark.parametrize("style", sorted(RECORDING))
def test_recording_a_pre_created_order_or_booking_counts(tmp_path: Path, demo_config, style):
    t = tables(tmp_path, {f"{FN}/stripe-webhook/index.ts": _paid_webhook(RECORDING[style])})
    assert verdicts("FLOW-WEBHOOK-ORDER", demo_config, t) == {"function:stripe-webhook": "pass"}


@pytest.mark.parametrize(
    "body",
    [
        "await db.from('user_entitlements').upsert({ user_id: session.client_reference_id });",
        "await db.from('orders').update({ notes: 'seen' }).eq('id', session.metadata.order_id);",
    ],
    ids=["entitlements-only", "order-touched-without-payment"],
)
def test_a_webhook_recording_no_order_stays_failed(tmp_path: Path, demo_config, body):
    t = tables(tmp_path, {f"{FN}/stripe-webhook/index.ts": _paid_webhook(body)})
    assert verdicts("FLOW-WEBHOOK-ORDER", demo_config, t) == {"function:stripe-webhook": "fail"}


# Metadata the webhook reads, on the object Stripe copies it to ----------------------------

CHECKOUT_SESSION = """
Deno.serve(async (req) => {
  const { bookingId } = await req.json();
  await stripe.checkout.sessions.create({ mode: 'payment', metadata: { booking_id: bookingId },
    line_items: [{ price: Deno.env.get('PRICE')!, quantity: 1 }] });
  return new Response('ok');
});
"""

INTENT_AND_SUBSCRIPTION = """
Deno.serve(async (req) => {
  const { bookingId, quoteId } = await req.json();
  await stripe.paymentIntents.create({ amount: 500, currency: 'usd',
    metadata: { booking_id: bookingId, is_guest: 'true' } });
  await stripe.subscriptions.create({ customer: 'cus_1', items: [],
    metadata: { quote_id: quoteId } });
  return new Response('ok');
});
"""

METADATA_WEBHOOK = """
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  switch (event.type) {
    case 'checkout.session.completed': {
      const session = event.data.object;
      if (session.metadata?.type === 'extension') {
        const hours = session.metadata.extension_hours;
      }
      await db.from('orders').insert({ booking: session.metadata.booking_id, status: 'paid' });
      break;
    }
    case 'payment_intent.succeeded': {
      const intent = event.data.object;
      const meta = intent.metadata || {};
      const guest = meta.is_guest === 'true';
      break;
    }
    case 'invoice.paid': {
      const sub = await stripe.subscriptions.retrieve(event.data.object.subscription);
      const quote = sub.metadata.quote_id;
      break;
    }
  }
  return new Response('ok');
});
"""


def test_metadata_written_on_intents_and_subscriptions_counts(tmp_path: Path, demo_config):
    t = tables(
        tmp_path,
        {
            f"{FN}/create-checkout/index.ts": CHECKOUT_SESSION,
            f"{FN}/create-intent/index.ts": INTENT_AND_SUBSCRIPTION,
            f"{FN}/stripe-webhook/index.ts": METADATA_WEBHOOK,
        },
    )
    got = verdicts("STRIPE-CHECKOUT-METADATA", demo_config, t)
    assert got["metadata:booking_id"] == "pass"
    assert got["metadata:is_guest"] == "pass"  # paymentIntents.create metadata
    assert got["metadata:quote_id"] == "pass"  # subscriptions.create metadata
    # true patterns stay: never written at all, or written only where the event never looks
    assert got["metadata:extension_hours"] == "fail"
    assert got["metadata:type"] == "fail"
    # `metadata.type === 'extension'` is no event: the insert still runs on the paid checkout
    assert verdicts("FLOW-WEBHOOK-ORDER", demo_config, t) == {"function:stripe-webhook": "pass"}


def test_metadata_written_on_another_object_than_the_event_carries_fails(
    tmp_path: Path, demo_config
) -> None:
    only_intent = INTENT_AND_SUBSCRIPTION.replace("is_guest: 'true'", "extension_hours: '2'")
    t = tables(
        tmp_path,
        {
            f"{FN}/create-checkout/index.ts": CHECKOUT_SESSION,
            f"{FN}/create-intent/index.ts": only_intent,
            f"{FN}/stripe-webhook/index.ts": METADATA_WEBHOOK,
        },
    )
    (found,) = [
        f
        for f in findings("STRIPE-CHECKOUT-METADATA", demo_config, t)
        if f.resource == "metadata:extension_hours"
    ]
    assert str(found.status) == "fail" and "payment_intent" in found.reason


# The webhook answers non-2xx when recording fails -----------------------------------------

NON2XX_WEBHOOK = """
HELPERS
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  try {
    const { error } = await db.from('orders').insert({ status: 'paid' });
    ON_ERROR
    return new Response('ok');
  } catch (err) {
    CATCH
  }
});
"""

RESPONSE_BUILDERS = """
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
function jsonError(message: string, status = 500) {
  return json({ error: message }, status);
}
"""

SHARED_ERRORS = """
export function buildErrorResponse(code: string, status = 500) {
  return Response.json({ error: code }, { status });
}
"""


def _non2xx(helpers: str, on_error: str, catch: str) -> str:
    return (
        NON2XX_WEBHOOK.replace("HELPERS", helpers)
        .replace("ON_ERROR", on_error)
        .replace("CATCH", catch)
    )


@pytest.mark.parametrize(
    "files",
    [
        {
            f"{FN}/stripe-webhook/index.ts": _non2xx(
                RESPONSE_BUILDERS,
                "if (error) return jsonError('could not record the order');",
                "return jsonError(String(err), 400);",
            )
        },
        {
            f"{FN}/_shared/errors.ts": SHARED_ERRORS,
            f"{FN}/stripe-webhook/index.ts": _non2xx(
                "import { buildErrorResponse } from '../_shared/errors.ts';",
                "if (error) throw error;",
                "return buildErrorResponse('WEBHOOK_FAILED');",
            ),
        },
    ],
    ids=["delegating-builder", "imported-builder-in-catch"],
)
def test_error_answers_through_response_builders(tmp_path: Path, demo_config, files) -> None:
    t = tables(tmp_path, files)
    assert verdicts("ERR-WEBHOOK-NON2XX", demo_config, t) == {"function:stripe-webhook": "pass"}


def test_a_catch_whose_answer_is_unknown_is_a_warning_not_a_failure(tmp_path, demo_config):
    webhook = _non2xx("", "if (error) throw error;", "return respondWith(err);")
    t = tables(tmp_path, {f"{FN}/stripe-webhook/index.ts": webhook})
    assert verdicts("ERR-WEBHOOK-NON2XX", demo_config, t) == {"function:stripe-webhook": "warn"}


def test_swallowed_write_errors_are_one_finding_with_every_site(tmp_path, demo_config) -> None:
    webhook = _non2xx(
        "",
        "await db.from('order_items').insert({ order: 1 });\n"
        "    const { error: e2 } = await db.from('payments').insert({ order: 1 });\n"
        "    if (e2) console.error(e2);",
        "return new Response('bad', { status: 400 });",
    )
    t = tables(tmp_path, {f"{FN}/stripe-webhook/index.ts": webhook})
    (found,) = findings("ERR-WEBHOOK-NON2XX", demo_config, t)
    assert str(found.status) == "fail" and found.location.endswith("index.ts:5")
    assert [w["table"] for w in found.evidence["writes"]] == ["orders", "order_items", "payments"]


# What the platform has (facts for applicability) ------------------------------------------

SHOP_WEBHOOK = """
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  if (event.type === 'checkout.session.completed') {
    const ref = event.data.object.client_reference_id;
    await db.from('orders').update({ status: 'paid' }).eq('id', ref);
  }
  return new Response('ok');
});
"""

PANEL_PROVISIONER = """
const PANEL = Deno.env.get('PTERODACTYL_URL');
Deno.serve(async (req) => {
  const { order_id } = await req.json();
  await db.from('orders').update({ status: 'installing' }).eq('id', order_id);
  await fetch(`${PANEL}/api/application/servers`, { method: 'POST' });
  return new Response('ok');
});
"""


def test_platform_facts_tell_a_shop_from_a_hosting_platform(tmp_path: Path) -> None:
    shop = tables(tmp_path / "shop", {f"{FN}/stripe-webhook/index.ts": SHOP_WEBHOOK})
    row = shop["code_platform"].iloc[0]
    assert row["stripe_webhooks"] == "stripe-webhook"
    assert pd.isna(row["provisioning_functions"]) and not row["has_panel_integration"]
    hosting = tables(
        tmp_path / "hosting",
        {
            f"{FN}/stripe-webhook/index.ts": SHOP_WEBHOOK,
            f"{FN}/servers-provision/index.ts": PANEL_PROVISIONER,
        },
    )
    row = hosting["code_platform"].iloc[0]
    assert row["provisioning_functions"] == "servers-provision"
    assert row["has_panel_integration"] and "servers-provision/index.ts" in row["panel_evidence"]
    assert row["order_tables_written"] == "orders"


# Provisioning ends with a final status ----------------------------------------------------

VPS_PROVISIONER = """
Deno.serve(async (req) => {
  try {
    const { data: vm, error } = await db.from('cloud_instances')
      .insert({ status: 'provisioning' }).select().single();
    if (error) throw new Error('insert failed');
    await db.from('cloud_instances').update({ status: 'FINAL' }).eq('id', vm.id);
    return new Response(JSON.stringify(vm), { status: 200 });
  } catch (e) {
    return new Response(String(e), { status: 400 });
  }
});
"""


@pytest.mark.parametrize("final", ["running", "failed", "provisioned"])
def test_other_final_statuses_end_provisioning(tmp_path: Path, demo_config, final) -> None:
    # 'running' ends a VPS's provisioning like 'provisioned' a game server's; the catch is
    # reached only when the claiming insert itself failed, so no row is left stuck
    t = tables(tmp_path, {f"{FN}/provision-vps/index.ts": VPS_PROVISIONER.replace("FINAL", final)})
    assert verdicts("FLOW-PROVISION-FINAL-STATUS", demo_config, t) == {
        "function:provision-vps": "pass"
    }


def test_a_provisioner_that_stops_in_provisioning_stays_failed(tmp_path, demo_config) -> None:
    stuck = VPS_PROVISIONER.replace(
        "await db.from('cloud_instances').update({ status: 'FINAL' }).eq('id', vm.id);",
        "if (!vm.ip) return new Response('no ip', { status: 502 });",
    )
    # a call that can throw after the claim sends a created row to a catch that leaves it
    throws = VPS_PROVISIONER.replace("FINAL", "running").replace(
        "if (error) throw new Error('insert failed');",
        "if (error) throw new Error('insert failed');\n    await fetch('https://panel/api');",
    )
    for src, where in ((stuck, "7 (return)"), (throws, "10 (return)")):
        t = tables(tmp_path, {f"{FN}/provision-vps/index.ts": src})
        (found,) = findings("FLOW-PROVISION-FINAL-STATUS", demo_config, t)
        assert str(found.status) == "fail" and where in found.reason, found.reason


WRAPPED = """
import { withErrorHandling } from '../_shared/handler.ts';
Deno.serve(withErrorHandling(async (req: Request) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  try {
    const { error } = await db.from('orders').insert({ status: 'paid' });
    if (error) throw error;
    return new Response('ok');
  } catch (err) {
    CATCH
  }
}));
"""

ERROR_WRAPPER = """
export const withErrorHandling = (fn: (r: Request) => Promise<Response>) =>
  async (req: Request) => {
    try { return await fn(req); } catch (e) { return new Response(String(e), { status: 500 }); }
  };
"""


def test_a_rethrow_into_an_error_wrapper_answers_non2xx(tmp_path: Path, demo_config) -> None:
    files = {f"{FN}/_shared/handler.ts": ERROR_WRAPPER}
    rethrow = WRAPPED.replace("CATCH", "console.error(err);\n    throw err;")
    t = tables(tmp_path, {**files, f"{FN}/stripe-webhook/index.ts": rethrow})
    assert verdicts("ERR-WEBHOOK-NON2XX", demo_config, t) == {"function:stripe-webhook": "pass"}
    # true pattern: the wrapped handler's own catch answers 200, so Stripe never retries
    swallow = WRAPPED.replace("CATCH", "return new Response('noted', { status: 200 });")
    t = tables(tmp_path, {**files, f"{FN}/stripe-webhook/index.ts": swallow})
    assert verdicts("ERR-WEBHOOK-NON2XX", demo_config, t) == {"function:stripe-webhook": "fail"}
