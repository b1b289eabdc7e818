"""FE-REDIRECT-ORIGIN on request-sourced redirect URLs: a URL taken from the body or the
Origin header fails unless it is checked against an allow-list first (an `if (!ok)
return/throw` guard, or a ternary falling back to a fixed URL), which passes."""

from __future__ import annotations

import pytest

from readiness.checks.registry import all_checks
from tests.test_code_rules_callers import FN, checkout
from tests.test_flow_precision import findings

CHECK = "FE-REDIRECT-ORIGIN"
HEAD = """
import Stripe from 'npm:stripe';
const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!);
const SITE_URL = Deno.env.get('SITE_URL')!;
const ALLOWED_ORIGINS = ['https://shop.example.com', 'https://www.example.com'];
"""


def fn(before: str, url: str = "returnUrl") -> str:
    return f"""{HEAD}
Deno.serve(async (req) => {{
  if (req.method === 'OPTIONS') return new Response(null, {{ status: 204 }});
  const body = await req.json();
  const returnUrl: string = body.returnUrl;
  {before}
  const session = await stripe.checkout.sessions.create({{
    mode: 'subscription',
    success_url: {url},
    cancel_url: `${{SITE_URL}}/pricing`,
  }});
  return new Response(JSON.stringify({{ url: session.url }}));
}});
"""


UNCHECKED = {
    "body": fn(""),
    "origin-header": fn("const o = req.headers.get('origin');", "`${o}/done`"),
    "logged-only": fn("console.log(ALLOWED_ORIGINS.length, returnUrl);"),
    # tests of the URL's own text or a prefix every site has are no allow-list
    "own-text-ternary": fn(
        "const target = returnUrl.includes('?') ? `${returnUrl}&paid=1` : `${returnUrl}?paid=1`;",
        "target",
    ),
    # an empty ALLOWED_ORIGINS skips the test: the guard fails open
    "unset-list-skips": fn(
        "const allowed = (Deno.env.get('ALLOWED_ORIGINS') ?? '').split(',').filter(Boolean);\n"
        "  if (allowed.length && !allowed.includes(new URL(returnUrl).origin)) "
        "return new Response('no', { status: 403 });"
    ),
    # a guard about something else (who owns the order) validates no URL
    "ownership-guard": fn(
        "const order = body.order; const user = body.user;\n"
        "  if (order.customer_id !== user.id) throw new Error('not yours');",
        "`${returnUrl}?order=${order.id}`",
    ),
    "scheme-prefix": fn(
        "if (!returnUrl.startsWith('https://')) return new Response('bad', { status: 400 });"
    ),
}
CHECKED = {
    "includes-400": fn(
        "if (!ALLOWED_ORIGINS.includes(new URL(returnUrl).origin)) "
        "return new Response('bad url', { status: 400 });"
    ),
    "set-has-throw": fn(
        "const allowed = new Set(ALLOWED_ORIGINS);\n"
        "  if (!allowed.has(new URL(returnUrl).origin)) throw new Error('untrusted');"
    ),
    "starts-with-site": fn(
        "if (!returnUrl.startsWith(SITE_URL)) { return new Response('no', { status: 400 }); }"
    ),
    "origin-equals-site": fn(
        "if (new URL(returnUrl).origin !== SITE_URL) throw new Error('untrusted return url');"
    ),
    "ternary-fallback": fn(
        "const target = ALLOWED_ORIGINS.includes(new URL(returnUrl).origin) "
        "? returnUrl : `${SITE_URL}/dashboard`;",
        "target",
    ),
}


def verdict(tmp_path, demo_config, source: str):
    all_checks()
    tables = checkout(tmp_path, {f"{FN}/pay/index.ts": source})
    return {f.resource: f for f in findings(CHECK, demo_config, tables)}


@pytest.mark.parametrize("name", sorted(UNCHECKED))
def test_an_unchecked_request_url_fails(tmp_path, demo_config, name):
    found = verdict(tmp_path, demo_config, UNCHECKED[name])["url:pay:request-origin"]
    assert str(found.status) == "fail", found.reason
    assert "open redirect" in found.reason


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_a_url_checked_against_an_allow_list_passes(tmp_path, demo_config, name):
    found = verdict(tmp_path, demo_config, CHECKED[name])["url:pay:success_url"]
    assert str(found.status) == "pass", found.reason
    assert "checked first" in found.reason


def test_the_fixed_cancel_url_still_passes(tmp_path, demo_config):
    found = verdict(tmp_path, demo_config, UNCHECKED["body"])["url:pay:cancel_url"]
    assert str(found.status) == "pass", found.reason


NO_LIST = fn("").replace(
    "const ALLOWED_ORIGINS = ['https://shop.example.com', 'https://www.example.com'];", ""
)
CORS = """
export const ALLOWED_ORIGINS = new Set(['https://shop.example.com', 'https://example.com']);
export function cors(req: Request) {
  const o = req.headers.get('origin') ?? '';
  return { 'Access-Control-Allow-Origin': ALLOWED_ORIGINS.has(o) ? o : '' };
}
"""


def test_an_allow_list_not_applied_is_one_chain(tmp_path, demo_config):
    found = verdict(tmp_path, demo_config, UNCHECKED["body"])["url:pay:request-origin"]
    assert found.chain and str(found.status) == "fail", found.reason
    read, allow, use = found.locations
    assert "req.json" not in use.reason and read.location != use.location
    assert "ALLOWED_ORIGINS" in allow.reason and allow.location.endswith(":4")
    assert "success_url" in use.reason


def test_no_allow_list_is_a_plain_finding(tmp_path, demo_config):
    found = verdict(tmp_path, demo_config, NO_LIST)["url:pay:request-origin"]
    assert str(found.status) == "fail" and not found.chain, found.reason


def test_a_shared_cors_allow_list_is_named_as_cors_only(tmp_path, demo_config):
    all_checks()
    source = "import { cors } from '../_shared/cors.ts';\n" + NO_LIST
    tables = checkout(tmp_path, {f"{FN}/pay/index.ts": source, f"{FN}/_shared/cors.ts": CORS})
    found = {f.resource: f for f in findings(CHECK, demo_config, tables)}
    chain = found["url:pay:request-origin"]
    assert chain.chain, chain.reason
    assert "used only for CORS" in chain.locations[1].reason
    assert chain.locations[1].location.startswith(f"{FN}/_shared/cors.ts:")
