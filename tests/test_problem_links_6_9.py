# ruff: noqa: E501  (code snippets read best on one line)
"""Areas 6, 8, 9: silent catches, checkout redirects and hooks, dead code, config.toml and
duplicates fold into one problem each and follow the problem they come from — only when
it was found. Checkouts on disk, collected with the real codebase source (helpers in
test_problem_links_4_9); each test holds the negative case too."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import all_checks
from readiness.findings import Finding, Status
from tests.test_problem_links import linked, problem, problems
from tests.test_problem_links_4_9 import ADMIN, FN, VITE_APP, checkout, fn, judged, where


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


# --- area 6: silent catches ------------------------------------------------------------------


def test_silent_catches_of_a_file_are_one_problem_an_empty_one_follows_the_empty_catch(
    tmp_path, demo_config
):
    provision, hook = f"{FN}/provision/index.ts", f"{FN}/hook/index.ts"
    files = {
        provision: ADMIN
        + """Deno.serve(async (req) => {
  const { orderId } = await req.json();
  let status = 'provisioned';
  try {
    await fetch('https://panel.example.test/api/application/servers', { method: 'POST' });
  } catch (e) {
    return new Response('panel down', { status: 502 });
  }
  try {
    await admin.from('servers').insert({ order_id: orderId });
  } catch (_err) {
    status = 'error';
  }
  try {
    await admin.from('orders').update({ status }).eq('id', orderId);
  } catch {}
  return new Response('ok');
});
""",
        hook: ADMIN
        + """Deno.serve(async (req) => {
  try {
    await admin.from('events').insert({ body: await req.text() });
  } catch (error) {
    return new Response(JSON.stringify({ received: true }), { status: 200 });
  }
  try {
    await admin.from('audit_log').insert({ at: Date.now() });
  } catch {
    // the audit log is best effort
  }
  return new Response('ok');
});
""",
    }
    fs = judged(demo_config, checkout(tmp_path, files), "ERR-EMPTY-CATCH", "ERR-CATCH-LOGS")
    silent = problem(fs, "ERR-CATCH-LOGS", f"catch-logs:{provision}")
    assert where(silent) == [f"{provision}:8", f"{provision}:13"]
    # another file's silent catch is another place to add logging
    other = problem(fs, "ERR-CATCH-LOGS", f"catch-logs:{hook}")
    assert other is not silent
    # the empty catch is ERR-EMPTY-CATCH's per-file problem: its catch points there
    empty = problem(fs, "ERR-EMPTY-CATCH", f"catch:{provision}")
    assert f"catch:{provision}:18" in {loc.resource for loc in empty.locations}
    swallowed = problem(fs, "ERR-CATCH-LOGS", f"catch:{provision}:18")
    assert swallowed.resource == f"catch:{provision}:18" and linked(swallowed, empty)
    assert silent.cause is None
    # a commented empty catch ERR-EMPTY-CATCH only asks to review cannot take a failing
    # catch under it: it needs logging like the file's other silent catch
    review = problem(fs, "ERR-EMPTY-CATCH", f"catch:{hook}:11")
    assert review.status == Status.WARN
    assert problem(fs, "ERR-CATCH-LOGS", f"catch:{hook}:11") is other
    assert where(other) == [f"{hook}:6", f"{hook}:11"] and other.cause is None


# --- area 8: checkout redirects and hooks ---------------------------------------------------

STRIPE = "import Stripe from 'npm:stripe@14';\nconst stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);\n"


def test_redirect_urls_of_one_session_built_from_the_request_are_one_problem(tmp_path, demo_config):
    files = dict(
        [
            fn(
                "create-checkout",
                STRIPE
                + """
                Deno.serve(async (req) => {
                  const origin = req.headers.get('origin') ?? '';
                  const session = await stripe.checkout.sessions.create({
                    mode: 'subscription',
                    success_url: `${origin}/success?session_id={CHECKOUT_SESSION_ID}`,
                    cancel_url: `${origin}/pricing`,
                  });
                  return Response.json({ url: session.url });
                });
                """,
                admin=False,
            ),
            fn(
                "renew",
                STRIPE
                + """
                Deno.serve(async (req) => {
                  const session = await stripe.checkout.sessions.create({
                    mode: 'payment',
                    success_url: req.headers.get('origin') + '/renewed',
                  });
                  return Response.json({ url: session.url });
                });
                """,
                admin=False,
            ),
            fn(
                "gift-checkout",
                STRIPE
                + """
                const site = Deno.env.get('SITE_URL')!;
                Deno.serve(async () => {
                  const session = await stripe.checkout.sessions.create({
                    mode: 'payment', success_url: `${site}/thanks`, cancel_url: `${site}/gifts`,
                  });
                  return Response.json({ url: session.url });
                });
                """,
                admin=False,
            ),
        ]
    )
    fs = judged(demo_config, checkout(tmp_path, files), "FE-REDIRECT-ORIGIN")
    one = problem(fs, "FE-REDIRECT-ORIGIN", "url:create-checkout:request-origin")
    assert {loc.resource for loc in one.locations} == {
        "url:create-checkout:success_url",
        "url:create-checkout:cancel_url",
    }
    renew = problem(fs, "FE-REDIRECT-ORIGIN", "url:renew:request-origin")
    assert renew is not one and len(renew.locations) == 1
    assert len(problems(fs, "FE-REDIRECT-ORIGIN")) == 2
    fixed = {f.resource: f.status for f in fs if f.resource.startswith("url:gift-checkout:")}
    assert fixed == {
        "url:gift-checkout:success_url": Status.PASS,
        "url:gift-checkout:cancel_url": Status.PASS,
    }


def test_catches_of_one_checkout_hook_are_one_problem(tmp_path, demo_config):
    files = {
        **VITE_APP,
        "src/main.tsx": "import { useCheckout } from './hooks/useCheckout';\nimport { usePortal } from './hooks/usePortal';\nconsole.log(useCheckout, usePortal);\n",
        "src/lib/supabase.ts": "import { createClient } from '@supabase/supabase-js';\nexport const supabase = createClient(import.meta.env.VITE_SUPABASE_URL, import.meta.env.VITE_SUPABASE_ANON_KEY);\n",
        # react-query style and plain async functions, both only logging
        "src/hooks/useCheckout.ts": """
            import { useMutation } from '@tanstack/react-query';
            import { supabase } from '../lib/supabase';
            export function useCheckout() {
              const start = async (planId: string) => {
                try {
                  const { data } = await supabase.functions.invoke('create-checkout', { body: { planId } });
                  window.location.href = data.url;
                } catch (err) {
                  console.error('checkout failed', err);
                }
              };
              const renew = async (orderId: string) => {
                try {
                  const { data } = await supabase.functions.invoke('create-checkout', { body: { orderId } });
                  window.location.href = data.url;
                } catch (e) {
                  console.log(e);
                }
              };
              return { start, renew };
            }
            """,
        "src/hooks/usePortal.ts": """
            import { supabase } from '../lib/supabase';
            export async function usePortal() {
              try {
                const { data } = await supabase.functions.invoke('create-checkout', { body: { portal: true } });
                window.location.assign(data.url);
              } catch (error) {
                console.error(error);
              }
            }
            """,
    }
    fs = judged(demo_config, checkout(tmp_path, files), "FE-HOOK-ERRORS")
    hook = problem(fs, "FE-HOOK-ERRORS", "hook-errors:src/hooks/useCheckout.ts")
    assert where(hook) == ["src/hooks/useCheckout.ts:8", "src/hooks/useCheckout.ts:16"]
    portal = problem(fs, "FE-HOOK-ERRORS", "hook-errors:src/hooks/usePortal.ts")
    assert portal is not hook and len(portal.locations) == 1


# --- area 9: dead code, config.toml, duplicates ----------------------------------------------

WEBHOOK = (
    STRIPE
    + ADMIN
    + """
function formatDate(d: Date) {
  return d.toISOString().slice(0, 10);
}
const deprovisionServer = async (serverId: number) => {
  await fetch(`${Deno.env.get('PTERODACTYL_URL')}/api/application/servers/${serverId}`, { method: 'DELETE' });
};
async function triggerProvisioning(orderId: string) {
  await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/servers-provision`, { method: 'POST', body: JSON.stringify({ orderId }) });
}
Deno.serve(async (req) => {
  const event = await stripe.webhooks.constructEventAsync(await req.text(), req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
  if (event.type === 'checkout.session.completed') {
    const session = event.data.object;
    const { data: order } = await admin.from('orders').insert({ stripe_checkout_session_id: session.id, status: 'paid' }).select().single();
    CALL
  }
  return new Response('ok');
});
"""
)
PROVISION = """
Deno.serve(async (req) => {
  const { orderId } = await req.json();
  await admin.from('orders').update({ status: 'provisioning' }).eq('id', orderId);
  await admin.from('orders').update({ status: 'provisioned' }).eq('id', orderId);
  return new Response('ok');
});
"""


def dead_code(root: Path, call: str, config) -> list[Finding]:
    files = dict(
        [
            fn("stripe-webhook", WEBHOOK.replace("CALL", call), admin=False),
            fn("servers-provision", PROVISION),
        ]
    )
    tables = checkout(root, files, open_fns=("stripe-webhook",))
    return judged(config, tables, "FLOW-WEBHOOK-PROVISION", "QUALITY-DEAD-FUNCTIONS")


def test_a_provisioning_helper_nobody_calls_follows_the_webhook_never_provisioning(
    tmp_path, demo_config
):
    fs = dead_code(tmp_path / "a", "console.log(order.id);", demo_config)
    never = problem(fs, "FLOW-WEBHOOK-PROVISION", "function:stripe-webhook")
    dead = {f.resource.rsplit(":", 1)[1]: f for f in problems(fs, "QUALITY-DEAD-FUNCTIONS")}
    assert set(dead) == {"triggerProvisioning", "formatDate", "deprovisionServer"}
    assert linked(dead["triggerProvisioning"], never)
    # a dead date helper, or one that tears servers down, says nothing about provisioning
    for name in ("formatDate", "deprovisionServer"):
        assert dead[name].cause_ref is None and dead[name].cause is None, name
    # the webhook provisions another way: the dead helper is only dead code
    call = "await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/servers-provision`, { method: 'POST', body: JSON.stringify({ orderId: order.id }) });"
    fs = dead_code(tmp_path / "b", call, demo_config)
    assert problems(fs, "FLOW-WEBHOOK-PROVISION") == []
    dead = problem(
        fs,
        "QUALITY-DEAD-FUNCTIONS",
        f"function-def:{FN}/stripe-webhook/index.ts:triggerProvisioning",
    )
    assert dead.cause is None


def test_a_configured_function_without_code_follows_the_config_section_without_code(
    tmp_path, demo_config
):
    toml = "".join(
        f"[functions.{s}]\nverify_jwt = true\n\n" for s in ("checkout", "cron", "refund")
    )
    files = {
        "supabase/config.toml": toml,
        f"{FN}/checkout/index.ts": 'Deno.serve(() => new Response("ok"));\n',
        f"{FN}/cron/index.ts": "import { serve } from 'https://deno.land/std/http/server.ts';\nserve(() => new Response('ok'));\n",
    }
    tables = checkout(tmp_path, files)
    tables["supabase_functions"] = pd.DataFrame(
        {"slug": ["checkout"], "verify_jwt": [True], "status": ["ACTIVE"]}
    )
    fs = judged(demo_config, tables, "QUALITY-FUNCTION-FOLDERS", "AUTH-VERIFY-JWT-DRIFT")
    folders = problem(fs, "QUALITY-FUNCTION-FOLDERS", "function:refund")
    assert folders.resource == "config:sections-without-code"
    drift = problem(fs, "AUTH-VERIFY-JWT-DRIFT", "function:refund")
    assert "configured in config.toml, has no code" in drift.reason
    assert drift.location == "supabase/config.toml" and linked(drift, folders)
    # code in the repository that was never deployed: its own problem
    cron = problem(fs, "AUTH-VERIFY-JWT-DRIFT", "function:cron")
    assert "not deployed" in cron.reason and cron.cause is None
    assert not [
        f for f in problems(fs, "AUTH-VERIFY-JWT-DRIFT") if f.resource == "function:checkout"
    ]


ANY_HEAVY = "export function parse(a: any, b: any): any {\n  const c: any = a;\n  return [c, b] as any;\n}\n"


def test_duplicated_functions_and_any_heavy_files_are_one_task_each(tmp_path, demo_config):
    retry = """
        export async function withRetry(url: string, tries = 3) {
          for (let i = 0; i < tries; i++) {
            const res = await fetch(url, { headers: { Accept: 'application/json' } });
            if (res.ok) return await res.json();
            await new Promise((r) => setTimeout(r, 250 * (i + 1)));
          }
          throw new Error(`gave up on ${url}`);
        }
        """
    money = """
        export const formatCents = function (cents: number, currency = 'EUR') {
          const amount = (cents / 100).toFixed(2);
          return new Intl.NumberFormat('de-DE', { style: 'currency', currency }).format(Number(amount));
        };
        """
    files = {
        f"{FN}/pay/retry.ts": retry,
        f"{FN}/refund/retry.ts": retry,
        f"{FN}/_shared/retry.ts": retry,
        "src/lib/money.ts": money,
        "src/components/Price.tsx": money,
        "src/lib/once.ts": "export const once = (f: () => void) => { let done = false; return () => { if (!done) { done = true; f(); } }; };\n",
        f"{FN}/pay/types.ts": ANY_HEAVY,
        "src/lib/api.ts": ANY_HEAVY,
        "src/lib/typed.ts": "export const id = (x: any) => x;\n",
    }
    checks = ("QUALITY-DUPLICATE-FUNCTIONS", "QUALITY-ANY-TYPES")
    fs = judged(demo_config, checkout(tmp_path, files), *checks)
    dupes = problem(fs, "QUALITY-DUPLICATE-FUNCTIONS", "duplicates:code")
    assert len(problems(fs, "QUALITY-DUPLICATE-FUNCTIONS")) == 1
    assert len(dupes.locations) == 2  # one per duplicated body, its copies in the reason
    assert all("appears" in loc.reason for loc in dupes.locations)
    assert "once" not in " ".join(loc.reason for loc in dupes.locations)
    anys = problem(fs, "QUALITY-ANY-TYPES", "any-types:code")
    assert len(problems(fs, "QUALITY-ANY-TYPES")) == 1
    assert {loc.resource for loc in anys.locations} == {
        f"file:{FN}/pay/types.ts",
        "file:src/lib/api.ts",
    }
