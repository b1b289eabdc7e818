"""ERR-WEBHOOK-NON2XX on provisioning (issue 16, broken retries): a webhook that answers
2xx when the provisioning it calls failed (only logged, never tested, not awaited, caught)
is one finding per webhook, every swallowing place a location; a failure that reaches a
non-2xx answer, or a scheduled job that re-runs provisioning, is not flagged."""

from __future__ import annotations

import pytest

from readiness.checks.registry import all_checks
from tests.test_code_rules_callers import FN, checkout
from tests.test_flow_precision import findings

HEAD = """
import Stripe from 'npm:stripe';
import { createClient } from 'npm:@supabase/supabase-js@2';
import { provisionServer } from '../_shared/provision.ts';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
const supabase = createClient(Deno.env.get('SUPABASE_URL')!,
  Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
const URL = Deno.env.get('SUPABASE_URL');
"""
CALL = "await fetch(`${URL}/functions/v1/servers-provision`, { method: 'POST' })"


def webhook(body: str, helpers: str = "", catch_status: int = 500) -> str:
    return (
        HEAD
        + helpers
        + """
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(),
    req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  try {
    if (event.type === 'checkout.session.completed') {
      const order = await save(event.data.object);
"""
        + body
        + f"""
    }}
    return new Response('ok');
  }} catch (err) {{
    console.error(err);
    return new Response('error', {{ status: {catch_status} }});
  }}
}});
"""
    )


def helper(check: str) -> str:
    return f"""
async function trigger(id: string) {{
  const res = {CALL};
  {check}
}}
"""


SWALLOWED = {
    "fetch-logged": webhook(f"const res = {CALL};\nif (!res.ok) console.error(res.status);"),
    "fetch-unchecked": webhook(f"{CALL};"),
    "fetch-not-awaited": webhook("fetch(URL + '/functions/v1/servers-provision');"),
    "fetch-answers-200": webhook(
        f"const res = {CALL};\n"
        "if (!res.ok) return new Response(JSON.stringify({ ok: true }), { status: 200 });"
    ),
    "fetch-else-missing": webhook(f"const r = {CALL};\nif (r.ok) console.log('built');"),
    "invoke-logged": webhook(
        "const { error } = await supabase.functions.invoke('provision-server',\n"
        "  { body: { order_id: order.id } });\nif (error) console.warn(error);"
    ),
    "import-caught": webhook("try { await provisionServer(order.id); } catch (e) { log(e); }"),
    "import-dot-catch": webhook("await provisionServer(order.id).catch((e) => log(e));"),
    "import-wait-until": webhook("EdgeRuntime.waitUntil(provisionServer(order.id));"),
    "import-catch-200": webhook("await provisionServer(order.id);", catch_status=200),
    "helper-logged": webhook(
        "await trigger(order.id);", helper("if (!res.ok) console.error('failed');")
    ),
    "helper-not-awaited": webhook(
        "trigger(order.id);", helper("if (!res.ok) throw new Error('failed');")
    ),
}
SETTLED = {
    "fetch-throws": webhook(f"const res = {CALL};\nif (!res.ok) throw new Error('no');"),
    "fetch-answers-502": webhook(
        f"const res = {CALL};\nif (!res.ok) return new Response('x', {{ status: 502 }});"
    ),
    "fetch-status-test": webhook(
        f"const res = {CALL};\nif (res.status >= 400) throw new Error(String(res.status));"
    ),
    "invoke-throws": webhook(
        "const { error: failed } = await supabase.functions.invoke('provision-server');\n"
        "if (failed) throw failed;"
    ),
    "import-awaited": webhook("await provisionServer(order.id);"),
    "helper-throws": webhook(
        "await trigger(order.id);", helper("if (!res.ok) throw new Error('failed');")
    ),
}
SHARED = {f"{FN}/_shared/provision.ts": "export async function provisionServer(id: string) {}\n"}


def provisioning(tmp_path, demo_config, hook: str, **extra: str) -> list:
    all_checks()
    files = {f"{FN}/stripe-webhook/index.ts": hook, **SHARED, **extra}
    got = findings("ERR-WEBHOOK-NON2XX", demo_config, checkout(tmp_path, files))
    return [f for f in got if f.resource == "provisioning:stripe-webhook"]


@pytest.mark.parametrize("name", sorted(SWALLOWED))
def test_a_swallowed_provisioning_failure_fails(tmp_path, demo_config, name):
    (found,) = provisioning(tmp_path, demo_config, SWALLOWED[name])
    assert str(found.status) == "fail", found.reason
    assert "Stripe never retries" in found.reason
    (place,) = found.locations
    assert place.location.startswith(f"{FN}/stripe-webhook/index.ts:")


@pytest.mark.parametrize("name", sorted(SETTLED))
def test_a_failure_that_reaches_an_error_answer_passes(tmp_path, demo_config, name):
    (found,) = provisioning(tmp_path, demo_config, SETTLED[name])
    assert str(found.status) == "pass", found.reason


def test_every_swallowing_place_is_a_location_of_one_finding(tmp_path, demo_config):
    hook = webhook(
        f"const res = {CALL};\nif (!res.ok) console.error(res.status);\n"
        "fetch(URL + '/functions/v1/servers-provision');\n"
        "const again = await fetch(`${URL}/functions/v1/servers-provision`);\n"
        "if (!again.ok) throw new Error('no');"
    )
    (found,) = provisioning(tmp_path, demo_config, hook)
    assert str(found.status) == "fail"
    assert len(found.locations) == 2
    assert len({place.location for place in found.locations}) == 2


def test_a_function_that_provisions_nothing_is_not_judged(tmp_path, demo_config):
    hook = webhook(
        "fetch(URL + '/functions/v1/send-receipt');\n"
        "await supabase.functions.invoke('notify-discord').catch(() => {});\n"
        "void logEvent(order.id);"
    )
    assert provisioning(tmp_path, demo_config, hook) == []


def test_a_helper_the_handler_never_calls_is_not_judged(tmp_path, demo_config):
    hook = webhook("await save(order);", helper("if (!res.ok) console.error('failed');"))
    assert provisioning(tmp_path, demo_config, hook) == []


def test_a_scheduled_retry_of_the_same_function_accepts_the_hand_off(tmp_path, demo_config):
    cron = """
    select cron.schedule('retry-provisioning', '*/5 * * * *', $$
      select net.http_post(url := 'https://x.supabase.co/functions/v1/servers-provision',
        body := '{}'::jsonb)
    $$);
    """
    migration = {"supabase/migrations/005_retry.sql": cron}
    (found,) = provisioning(tmp_path, demo_config, SWALLOWED["fetch-not-awaited"], **migration)
    assert str(found.status) == "pass"
    assert "scheduled job" in found.reason
    # a job that re-runs another function is no retry of this one
    other = {"supabase/migrations/005_retry.sql": cron.replace("servers-provision", "emails")}
    (found,) = provisioning(tmp_path / "b", demo_config, SWALLOWED["fetch-not-awaited"], **other)
    assert str(found.status) == "fail"
