"""STRIPE-CHECKOUT-METADATA end to end on differently written webhooks and checkouts
(issue 16, missing metadata): a key no checkout writes fails; not verified only where a
write cannot be followed; keys written through a variable or subscription_data pass."""

from __future__ import annotations

import pytest

from tests.test_code_rules_callers import FN, checkout, verdicts

HEAD = """
import Stripe from 'npm:stripe';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
"""


def webhook(body: str) -> str:
    return (
        HEAD
        + """
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
"""
        + body
        + """
  return new Response('ok');
});
"""
    )


def create(args: str) -> str:
    return (
        HEAD + f"\nDeno.serve(async (req) => {{\n  const body = await req.json();\n  {args}\n"
        "  return new Response('x');\n});\n"
    )


DESTRUCTURED = webhook("""
  switch (event.type) {
    case 'checkout.session.completed': {
      const session = event.data.object;
      const { plan_id, user_id } = session.metadata;
      await save(plan_id, user_id);
      break;
    }
  }""")
DOTTED = webhook("""
  if (event.type === 'checkout.session.completed') {
    await save(event.data.object.metadata.plan_id, event.data.object.metadata.user_id);
  }""")
ALIASED = webhook("""
  if (event.type === 'checkout.session.completed') {
    const s = event.data.object as Stripe.Checkout.Session;
    const md = s.metadata as Record<string, string>;
    await save(md['plan_id'] ?? null, md.user_id);
  }""")
SUBSCRIPTION = webhook("""
  if (event.type === 'customer.subscription.updated') {
    const subscription = event.data.object as Stripe.Subscription;
    await save(subscription.metadata.plan_id, subscription.metadata?.user_id);
  }""")
NO_METADATA = create(
    "await stripe.checkout.sessions.create({ mode: 'payment', "
    "line_items: [{ price: 'price_x', quantity: 1 }] });"
)
USER_ONLY = create("await stripe.checkout.sessions.create({ metadata: { user_id: 'u' } });")
BOTH = create(
    "await stripe.checkout.sessions.create({ metadata: { user_id: 'u', plan_id: body.p } });"
)
VIA_VARIABLE = create(
    "const metadata = { user_id: 'u', plan_id: body.p };\n"
    "  const params = { mode: 'subscription', metadata, subscription_data: { metadata } };\n"
    "  await stripe.checkout.sessions.create(params);"
)
SUB_DATA_ONLY = create(
    "await stripe.checkout.sessions.create({ mode: 'subscription',\n"
    "    subscription_data: { metadata: { plan_id: body.p, user_id: 'u' } } });"
)
SESSION_ONLY = create(
    "await stripe.checkout.sessions.create({ metadata: { plan_id: body.p, user_id: 'u' } });"
)
ADDED_LATER = create(
    "const metadata: Record<string, string> = { user_id: 'u' };\n"
    "  if (body.p) metadata.plan_id = body.p;\n"
    "  await stripe.checkout.sessions.create({ mode: 'payment', metadata });"
)
INDEXED_LATER = create(
    "const metadata: Record<string, string> = { user_id: 'u' };\n"
    "  metadata['plan_id'] = body.p;\n"
    "  const params: any = { mode: 'payment', metadata };\n"
    "  await stripe.checkout.sessions.create(params);"
)
ON_PARAMS_LATER = create(
    "const params: any = { mode: 'payment', metadata: { user_id: 'u' } };\n"
    "  params.metadata.plan_id = body.p;\n"
    "  await stripe.checkout.sessions.create(params);"
)
ASSIGNED_UNKNOWN = create(
    "const metadata = { user_id: 'u' };\n  Object.assign(metadata, extra);\n"
    "  await stripe.checkout.sessions.create({ metadata });"
)
HELPER_METADATA = create(
    "await stripe.checkout.sessions.create({ mode: 'payment', metadata: buildMeta(body) });"
)
HELPER_PARAMS = create("await stripe.checkout.sessions.create(makeParams(body));")
SPREAD_BASE = create(
    "const base = makeBase(body);\n"
    "  await stripe.checkout.sessions.create({ ...base, metadata: { user_id: 'u' } });"
)


def plan_id(tmp_path, demo_config, hook: str, **checkouts: str) -> str:
    files = {f"{FN}/stripe-webhook/index.ts": hook}
    files |= {f"{FN}/{slug.replace('_', '-')}/index.ts": body for slug, body in checkouts.items()}
    got = verdicts("STRIPE-CHECKOUT-METADATA", checkout(tmp_path, files), demo_config)
    return got.get("metadata:plan_id", got.get("code:checkout", "missing"))


@pytest.mark.parametrize("hook", [DESTRUCTURED, DOTTED, ALIASED], ids=["destr", "dot", "alias"])
@pytest.mark.parametrize(
    "co", [NO_METADATA, USER_ONLY, SPREAD_BASE], ids=["none", "other-key", "after-spread"]
)
def test_a_key_no_checkout_writes_fails(tmp_path, demo_config, hook, co):
    assert plan_id(tmp_path, demo_config, hook, create_checkout_session=co) == "fail"


def test_a_subscription_key_written_only_on_the_session_fails(tmp_path, demo_config):
    got = plan_id(tmp_path, demo_config, SUBSCRIPTION, create_checkout_session=SESSION_ONLY)
    assert got == "fail"


@pytest.mark.parametrize(
    "hook,co",
    [
        (DESTRUCTURED, BOTH),
        (ALIASED, VIA_VARIABLE),
        (SUBSCRIPTION, VIA_VARIABLE),
        (SUBSCRIPTION, SUB_DATA_ONLY),
        (DOTTED, ADDED_LATER),
        (DOTTED, INDEXED_LATER),
        (ALIASED, ON_PARAMS_LATER),
    ],
    ids=[
        "literal",
        "variable",
        "variable-sub",
        "subscription-data",
        "added-later",
        "indexed-later",
        "on-params-later",
    ],
)
def test_a_written_key_passes(tmp_path, demo_config, hook, co):
    assert plan_id(tmp_path, demo_config, hook, create_checkout_session=co) == "pass"


def test_unfollowable_metadata_is_not_verified(tmp_path, demo_config):
    assert plan_id(tmp_path, demo_config, DOTTED, c=HELPER_METADATA) == "not_verified"
    assert plan_id(tmp_path / "b", demo_config, DOTTED, c=HELPER_PARAMS) == "not_verified"
    # several checkouts, one of them unfollowable: the key may come from that one
    got = plan_id(tmp_path / "c", demo_config, DOTTED, c=USER_ONLY, d=HELPER_PARAMS)
    assert got == "not_verified"
    assert plan_id(tmp_path / "e", demo_config, DOTTED, c=ASSIGNED_UNKNOWN) == "not_verified"
    # a spread before an explicit subscription_data-less params may hold subscription_data
    assert plan_id(tmp_path / "d", demo_config, SUBSCRIPTION, c=SPREAD_BASE) == "not_verified"


def test_no_checkout_at_all_is_not_verified(tmp_path, demo_config):
    assert plan_id(tmp_path, demo_config, DOTTED) == "not_verified"
