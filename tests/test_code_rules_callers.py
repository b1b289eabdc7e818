"""Caller checks, loose comparisons, ownership, injected values and CORS on snippets
written in the styles public Supabase functions use (Deno.serve, std `serve`, Hono,
handler wrappers, `_shared` helpers): issue 13 §4. Each class has snippets that must not
be flagged and a true pattern that must stay found."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.codebase import collect_codebase
from readiness.static.rules.tables import TABLES, frame
from tests.problems import statuses

FN = "supabase/functions"
ADMIN = """
    import { createClient } from 'npm:@supabase/supabase-js@2';
    const admin = createClient(Deno.env.get('SUPABASE_URL')!,
      Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
"""


def checkout(root: Path, files: dict[str, str], open_fns: tuple[str, ...] = ()) -> dict:
    """Write a checkout (verify_jwt=false for `open_fns`) and collect its code tables."""
    config = "".join(f"[functions.{s}]\nverify_jwt = false\n" for s in open_fns)
    files = {"supabase/config.toml": f'project_id = "t"\n{config}', **files}
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return collect_codebase(root).tables


def verdicts(check_id: str, tables: dict, config) -> dict[str, str]:
    """resource -> status of one check over the collected tables."""
    all_checks()
    full = {name: frame(name, []) for name in TABLES}
    full.update(tables)
    states = {"codebase": SourceState("codebase", "ok")}
    snapshot = Snapshot(datetime(2026, 11, 26, tzinfo=UTC), states, full)
    return statuses(evaluate_check(REGISTRY[check_id], snapshot, config))


def fn(slug: str, body: str, *, admin: bool = True) -> tuple[str, str]:
    return f"{FN}/{slug}/index.ts", (textwrap.dedent(ADMIN) if admin else "") + textwrap.dedent(
        body
    )


# -- caller checks beyond auth.getUser ---------------------------------------------------


def test_stored_tokens_hmac_and_imported_guards_authenticate_the_caller(tmp_path, demo_config):
    files = dict(
        [
            # a guest proves the booking with its stored access token (std serve)
            fn(
                "guest-booking",
                """
                import { serve } from 'https://deno.land/std@0.190.0/http/server.ts';
                serve(async (req) => {
                  const { booking_id, access_token } = await req.json();
                  const { data: booking } = await admin.from('bookings').select('*')
                    .eq('id', booking_id).single();
                  if (!booking || booking.guest_access_token !== access_token) {
                    return new Response('Invalid access token', { status: 403 });
                  }
                  return Response.json(booking);
                });
                """,
            ),
            # a reset link: the token hash is looked up (zod-parsed body, Deno.serve)
            fn(
                "reset-password",
                """
                const schema = z.object({ tokenHash: z.string(), password: z.string() });
                Deno.serve(async (req) => {
                  const parsed = schema.safeParse(await req.json());
                  if (!parsed.success) return new Response('bad', { status: 400 });
                  const { tokenHash, password } = parsed.data;
                  const { data: row } = await admin.from('reset_tokens').select('user_id')
                    .eq('token_hash', tokenHash).maybeSingle();
                  if (!row) return new Response('Invalid or expired token', { status: 400 });
                  await admin.auth.admin.updateUserById(row.user_id, { password });
                  return new Response('ok');
                });
                """,
            ),
            # a Shopify-style webhook verified by hand with Web Crypto
            fn(
                "shop-webhook",
                """
                const SECRET = Deno.env.get('SHOP_WEBHOOK_SECRET');
                async function verify(body: string, given: string, secret: string) {
                  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret),
                    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
                  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body));
                  return btoa(String.fromCharCode(...new Uint8Array(mac))) === given;
                }
                Deno.serve(async (req) => {
                  const raw = await req.text();
                  const sig = req.headers.get('x-shop-hmac-sha256');
                  if (!sig || !SECRET || !(await verify(raw, sig, SECRET))) {
                    return new Response('Unauthorized', { status: 401 });
                  }
                  await admin.from('orders').insert(JSON.parse(raw));
                  return new Response('ok');
                });
                """,
            ),
            # an auth helper imported from a package, with an early 401 (Hono)
            fn(
                "hono-orders",
                """
                import { Hono } from 'npm:hono';
                import { requireUser } from 'npm:@acme/edge-auth';
                const app = new Hono();
                app.post('/orders', async (c) => {
                  const user = await requireUser(c.req.raw);
                  if (!user) return c.json({ error: 'Unauthorized' }, 401);
                  const { data } = await admin.from('orders').select('*');
                  return c.json(data);
                });
                Deno.serve(app.fetch);
                """,
            ),
            # a handler wrapper from a package
            fn(
                "wrapped",
                """
                import { withAuth } from 'jsr:@acme/auth-wrapper';
                Deno.serve(withAuth(async (req, user) => {
                  const { data } = await admin.from('profiles').select('*');
                  return Response.json(data);
                }));
                """,
            ),
            # a _shared helper that calls auth.getUser (followed through the import)
            (
                f"{FN}/_shared/auth.ts",
                """
                import { createClient } from 'npm:@supabase/supabase-js@2';
                export async function verifyAuth(req: Request) {
                  const client = createClient(Deno.env.get('SUPABASE_URL')!,
                    Deno.env.get('SUPABASE_ANON_KEY')!);
                  const { data, error } = await client.auth.getUser(
                    req.headers.get('Authorization')!.replace('Bearer ', ''));
                  if (error || !data.user) throw new Error('Unauthorized');
                  return data.user;
                }
                """,
            ),
            fn(
                "shared-helper",
                """
                import { verifyAuth } from '../_shared/auth.ts';
                Deno.serve(async (req) => {
                  const user = await verifyAuth(req);
                  await admin.auth.admin.updateUserById(user.id, { user_metadata: {} });
                  return new Response('ok');
                });
                """,
            ),
            # an emailed action link: the query-string token is hashed, then looked up
            fn(
                "action-link",
                """
                import { serve } from 'https://deno.land/std@0.190.0/http/server.ts';
                const handler = async (req: Request): Promise<Response> => {
                  const token = new URL(req.url).searchParams.get('token');
                  if (!token) return new Response('Missing token', { status: 400 });
                  const digest = await crypto.subtle.digest('SHA-256',
                    new TextEncoder().encode(token));
                  const hashed = Array.from(new Uint8Array(digest))
                    .map((b) => b.toString(16).padStart(2, '0')).join('');
                  const { data, error } = await admin.from('action_tokens').select('*')
                    .eq('token_hash', hashed).is('used_at', null).single();
                  if (error || !data) return new Response('Invalid link', { status: 404 });
                  return Response.json(data);
                };
                serve(handler);
                """,
            ),
            # a constant-time comparison helper over the stored and the presented token
            fn(
                "guest-messages",
                """
                Deno.serve(async (req) => {
                  const { booking_id, access_token } = await req.json();
                  const { data: booking } = await admin.from('bookings')
                    .select('id, guest_access_token').eq('id', booking_id).single();
                  const a = new TextEncoder().encode(booking?.guest_access_token || '');
                  const b = new TextEncoder().encode(access_token || '');
                  const timingSafeEqual = (x: Uint8Array, y: Uint8Array) =>
                    x.length === y.length && x.every((v, i) => v === y[i]);
                  if (!timingSafeEqual(a, b)) {
                    return new Response('Invalid access token', { status: 403 });
                  }
                  return Response.json((await admin.from('messages').select('*')
                    .eq('booking_id', booking_id)).data);
                });
                """,
            ),
            # true pattern: a promo code is public, it authenticates nobody
            fn(
                "validate-coupon",
                """
                Deno.serve(async (req) => {
                  const { code } = await req.json();
                  const { data } = await admin.from('coupons').select('*').eq('code', code)
                    .maybeSingle();
                  if (!data) return new Response('Invalid coupon', { status: 404 });
                  return Response.json(data);
                });
                """,
            ),
            # true pattern: service role, no caller check, returns rows
            fn(
                "open-rows",
                """
                Deno.serve(async (req) => {
                  const { data } = await admin.from('orders').select('*');
                  return Response.json(data);
                });
                """,
            ),
            # true pattern: a local helper that only decodes the token proves nothing
            fn(
                "decoded-claims",
                """
                function parseClaims(token: string) {
                  return JSON.parse(atob(token.split('.')[1]));
                }
                Deno.serve(async (req) => {
                  const claims = parseClaims(req.headers.get('Authorization') ?? '');
                  if (claims?.role !== 'service_role') {
                    return new Response('Forbidden', { status: 403 });
                  }
                  const { data } = await admin.from('orders').select('*');
                  return Response.json(data);
                });
                """,
            ),
        ]
    )
    slugs = ("guest-booking", "reset-password", "shop-webhook", "hono-orders", "wrapped")
    slugs += ("shared-helper", "action-link", "guest-messages")
    t = checkout(
        tmp_path, files, open_fns=(*slugs, "validate-coupon", "open-rows", "decoded-claims")
    )
    got = verdicts("AUTH-NOJWT-SERVICE-ROLE", t, demo_config)
    for slug in slugs:
        assert got[f"function:{slug}"] == "pass", slug
    assert got["function:validate-coupon"] == "fail"
    assert got["function:open-rows"] == "fail"
    assert got["function:decoded-claims"] == "fail"
    own = verdicts("AUTH-OWNERSHIP", t, demo_config)
    assert own["function:guest-booking"] == "pass"
    assert own["function:guest-messages"] == "pass"
    privileged = verdicts("AUTH-PRIVILEGED-CALLER", t, demo_config)
    assert privileged["function:reset-password"] == "pass"
    assert privileged["function:shared-helper"] == "pass"


# -- loose comparisons and internal calls ------------------------------------------------


def test_internal_calls_loose_only_when_the_secret_can_be_empty_or_is_chosen(tmp_path, demo_config):
    files = dict(
        [
            # the injected service-role key is never empty: includes() cannot be fooled
            fn(
                "cron-includes",
                """
                Deno.serve(async (req) => {
                  const authHeader = req.headers.get('Authorization');
                  const serviceRoleKey = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY');
                  if (!authHeader || !authHeader.includes(serviceRoleKey || '')) {
                    return new Response('Unauthorized', { status: 403 });
                  }
                  await admin.from('bookings').update({ status: 'expired' }).lt('ends', 'now');
                  return new Response('ok');
                });
                """,
            ),
            # `!token || token !== SECRET`: the header is checked, so unset fails closed
            fn(
                "cron-secret",
                """
                import { serve } from 'https://deno.land/std/http/server.ts';
                serve(async (req) => {
                  const internalSecret = req.headers.get('x-internal-secret');
                  const expected = Deno.env.get('INTERNAL_SECRET');
                  if (!internalSecret || internalSecret !== expected) {
                    return new Response('Unauthorized', { status: 401 });
                  }
                  await admin.auth.admin.deleteUser((await req.json()).user_id);
                  return new Response('ok');
                });
                """,
            ),
            # a Stripe-mode log line is no internal-call recognition at all
            fn(
                "mode-log",
                """
                Deno.serve(async (req) => {
                  const key = Deno.env.get('STRIPE_SECRET_KEY')!;
                  if (key.startsWith('sk_test_')) console.warn('test mode');
                  const { data } = await admin.auth.getUser(req.headers.get('Authorization')!);
                  return new Response(data.user?.id);
                });
                """,
            ),
            # true: a non-injected secret read with `?? ''` (reported by the config rule)
            fn(
                "empty-secret",
                """
                const CRON = Deno.env.get('CRON_SECRET') ?? '';
                Deno.serve(async (req) => {
                  if (!(req.headers.get('Authorization') ?? '').includes(CRON)) {
                    return new Response('no', { status: 401 });
                  }
                  return Response.json((await admin.from('orders').select('*')).data);
                });
                """,
            ),
            # true: a caller-chosen literal passes instead of the key
            fn(
                "any-bearer",
                """
                Deno.serve(async (req) => {
                  const authHeader = req.headers.get('Authorization');
                  const key = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY');
                  if (!authHeader ||
                      (!authHeader.includes(key || '') && !authHeader.includes('Bearer '))) {
                    return new Response('Unauthorized', { status: 403 });
                  }
                  await admin.auth.admin.listUsers();
                  return new Response('ok');
                });
                """,
            ),
            # true: servers OR signed-in users, and a user may name any target user
            fn(
                "push-any",
                """
                Deno.serve(async (req) => {
                  const auth = req.headers.get('Authorization') ?? '';
                  const isService = auth.includes(Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
                  if (!isService) {
                    const { error } = await admin.auth.getUser(auth.replace('Bearer ', ''));
                    if (error) return new Response('no', { status: 401 });
                  }
                  const { userId, title } = await req.json();
                  await admin.from('push_queue').insert({ user_id: userId, title });
                  return new Response('ok');
                });
                """,
            ),
            # true: a header any caller can send
            fn(
                "flag-header",
                """
                Deno.serve(async (req) => {
                  const isInternal = req.headers.get('x-internal-call') === 'true';
                  if (!isInternal) {
                    const { error } = await admin.auth.getUser(req.headers.get('Authorization')!);
                    if (error) return new Response('no', { status: 401 });
                  }
                  return new Response('ok');
                });
                """,
            ),
        ]
    )
    slugs = ("cron-includes", "cron-secret", "mode-log", "empty-secret", "any-bearer")
    t = checkout(tmp_path, files, open_fns=(*slugs, "flag-header", "push-any"))
    exact = verdicts("AUTH-INTERNAL-CALL-EXACT", t, demo_config)
    assert exact["function:cron-includes"] == "pass"
    assert exact["function:cron-secret"] == "pass"
    assert "function:mode-log" not in exact
    assert "function:empty-secret" not in exact  # reported once, under the config rule
    assert exact["function:any-bearer"] == "fail"
    assert exact["function:flag-header"] == "fail"
    fallback = verdicts("CONFIG-ENV-FALLBACK", t, demo_config)
    assert fallback[f"env-fallback:{FN}/empty-secret/index.ts:CRON_SECRET"] == "fail"
    nojwt = verdicts("AUTH-NOJWT-SERVICE-ROLE", t, demo_config)
    assert nojwt["function:cron-includes"] == "pass"
    assert nojwt["function:cron-secret"] == "pass"
    # one root, one finding: the weak check is INTERNAL-CALL-EXACT's, not NOJWT's too
    assert nojwt["function:any-bearer"] == "info"
    privileged = verdicts("AUTH-PRIVILEGED-CALLER", t, demo_config)
    assert privileged["function:cron-secret"] == "pass"
    assert privileged["function:any-bearer"] == "info"
    ident = verdicts("AUTH-BODY-IDENTITY", t, demo_config)
    assert ident["function:cron-secret"] == "pass"  # only secret-holding servers reach it
    assert ident["function:push-any"] == "fail"


# -- one root, one finding ----------------------------------------------------------------


def test_open_privileged_function_is_reported_once(tmp_path, demo_config):
    files = dict(
        [
            fn(
                "reset-any-password",
                """
                Deno.serve(async (req) => {
                  const { email, newPassword } = await req.json();
                  const { data } = await admin.auth.admin.listUsers();
                  const user = data.users.find((u) => u.email === email);
                  await admin.auth.admin.updateUserById(user.id, { password: newPassword });
                  return new Response('ok', { headers: { 'Access-Control-Allow-Origin': '*' } });
                });
                """,
            ),
            # verify_jwt on, no caller check: PRIVILEGED-CALLER is the one report
            fn(
                "magic-link",
                """
                Deno.serve(async (req) => {
                  const { email } = await req.json();
                  const { data } = await admin.auth.admin.generateLink({ type: 'magic', email });
                  return Response.json(data, { headers: { 'Access-Control-Allow-Origin': '*' } });
                });
                """,
            ),
        ]
    )
    t = checkout(tmp_path, files, open_fns=("reset-any-password",))
    assert verdicts("AUTH-NOJWT-SERVICE-ROLE", t, demo_config)["function:reset-any-password"] == (
        "fail"
    )
    privileged = verdicts("AUTH-PRIVILEGED-CALLER", t, demo_config)
    assert privileged["function:reset-any-password"] == "info"
    assert privileged["function:magic-link"] == "fail"
    cors = verdicts("CONFIG-CORS-PRIVILEGED", t, demo_config)
    assert cors["function:reset-any-password"] == "pass"  # area 4's finding, not CORS's
    assert cors["function:magic-link"] == "pass"
    ident = verdicts("AUTH-BODY-IDENTITY", t, demo_config)
    assert ident["function:reset-any-password"] == "fail"  # the email picks the account


# -- ownership and identity ---------------------------------------------------------------


def test_ownership_against_the_session_and_admin_targets(tmp_path, demo_config):
    files = dict(
        [
            fn(
                "host-cancel",
                """
                Deno.serve(async (req) => {
                  const { bookingId } = await req.json();
                  const { data: { user } } = await admin.auth.getUser(
                    req.headers.get('Authorization')!.replace('Bearer ', ''));
                  if (!user) return new Response('Unauthorized', { status: 401 });
                  const { data: booking } = await admin.from('bookings')
                    .select('*, spots(host_id)').eq('id', bookingId).single();
                  if (booking.spots.host_id !== user.id) return new Response('no', { status: 403 });
                  return new Response('ok');
                });
                """,
            ),
            fn(
                "agent-checkout",
                """
                import { serve } from 'https://deno.land/std/http/server.ts';
                serve(async (req) => {
                  const { data: userData } = await admin.auth.getUser(
                    req.headers.get('Authorization')!.replace('Bearer ', ''));
                  const { orderId } = await req.json();
                  const { data } = await admin.from('copay_orders').select('*')
                    .eq('id', orderId).eq('agent_id', userData.user.id).single();
                  return Response.json(data);
                });
                """,
            ),
            fn(
                "quote-view",
                """
                Deno.serve(async (req) => {
                  const url = new URL(req.url);
                  const { data } = await admin.from('quotes').select('*')
                    .eq('id', url.searchParams.get('id'))
                    .eq('public_token', url.searchParams.get('token')).single();
                  if (!data) return new Response('Not found', { status: 404 });
                  return Response.json(data);
                });
                """,
            ),
            fn(
                "admin-delete-user",
                """
                Deno.serve(async (req) => {
                  const { data: caller } = await admin.auth.getUser(
                    req.headers.get('Authorization')!.replace('Bearer ', ''));
                  const { data: profile } = await admin.from('profiles').select('is_admin')
                    .eq('id', caller.user!.id).single();
                  if (!profile?.is_admin) return new Response('Forbidden', { status: 403 });
                  const { userId } = await req.json();
                  await admin.auth.admin.deleteUser(userId);
                  return new Response('ok');
                });
                """,
            ),
            fn(
                "link-bookings",
                """
                Deno.serve(async (req) => {
                  const { data: { user } } = await admin.auth.getUser(
                    req.headers.get('Authorization')!.replace('Bearer ', ''));
                  const authUserId = user?.id;
                  const { user_id } = await req.json();
                  if (user_id !== authUserId) return new Response('no', { status: 403 });
                  await admin.from('bookings').update({ user_id }).eq('guest_user', user_id);
                  return new Response('ok');
                });
                """,
            ),
            fn(
                "guest-checkout",
                """
                Deno.serve(async (req) => {
                  const { items, customerInfo } = await req.json();
                  const session = await stripe.checkout.sessions.create({
                    customer_email: customerInfo.email, line_items: items, mode: 'payment',
                  });
                  return Response.json({ url: session.url });
                });
                """,
            ),
            # true: loads by body id, no owner check, no caller check
            fn(
                "charge-booking",
                """
                Deno.serve(async (req) => {
                  const { booking_id } = await req.json();
                  const { data: booking } = await admin.from('bookings').select('*')
                    .eq('id', booking_id).single();
                  return Response.json(booking);
                });
                """,
            ),
            # true: the body user id picks whose rows are written
            fn(
                "notify",
                """
                Deno.serve(async (req) => {
                  const { user_id, message } = await req.json();
                  await admin.from('notifications').insert({ user_id, message });
                  return new Response('ok');
                });
                """,
            ),
        ]
    )
    t = checkout(tmp_path, files)
    own = verdicts("AUTH-OWNERSHIP", t, demo_config)
    for slug in ("host-cancel", "agent-checkout", "quote-view"):
        assert own[f"function:{slug}"] == "pass", slug
    assert own["function:charge-booking"] == "fail"
    ident = verdicts("AUTH-BODY-IDENTITY", t, demo_config)
    assert ident["function:admin-delete-user"] == "pass"
    assert ident["function:link-bookings"] == "pass"
    assert "function:guest-checkout" not in ident  # a contact address picks no user
    assert ident["function:notify"] == "fail"


# -- injected and public values -----------------------------------------------------------


def test_injected_public_and_checked_fallbacks_are_not_risky(tmp_path, demo_config):
    files = {
        f"{FN}/a/index.ts": """
            import { createClient } from 'npm:@supabase/supabase-js@2';
            const admin = createClient(Deno.env.get('SUPABASE_URL') ?? '',
              Deno.env.get('SUPABASE_SERVICE_ROLE_KEY') ?? '');
            const token = (Deno.env.get('POSTMARK_SERVER_TOKEN') ?? '').trim();
            const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY') ?? '');
            const site = Deno.env.get('SITE_URL') || 'http://localhost:3000';
            const api = Deno.env.get('HALAXY_API_BASE_URL') || 'https://api.halaxy.example.net';
            Deno.serve(async () => {
              if (!token) return new Response('mail not configured', { status: 500 });
              return new Response(site + api);
            });
        """,
        f"{FN}/_shared/client.ts": """
            const url = Deno.env.get('SUPABASE_URL') ?? '';
            const anon = Deno.env.get('SUPABASE_ANON_KEY') ?? '';
            export const client = createClient(url, anon);
            const resend = Deno.env.get('RESEND_API_KEY') ?? '';
            export const send = (b: unknown) => fetch('https://api.resend.com', {
              headers: { Authorization: `Bearer ${resend}` }, body: JSON.stringify(b) });
        """,
        "src/lib/stripe.ts": """
            export const promise = loadStripe(import.meta.env.VITE_STRIPE_PUBLISHABLE_KEY || '');
            export const anon = import.meta.env.VITE_SUPABASE_ANON_KEY ?? '';
        """,
        "scripts/seed.mjs": """
            const key = process.env.SUPABASE_SERVICE_ROLE_KEY || '';
        """,
    }
    t = checkout(tmp_path, files)
    got = verdicts("CONFIG-ENV-FALLBACK", t, demo_config)
    flagged = {
        r.split(":", 1)[1] for r, s in got.items() if s in ("fail", "warn") and r.count(":") > 1
    }
    assert flagged == {
        f"{FN}/a/index.ts:STRIPE_SECRET_KEY",
        f"{FN}/a/index.ts:SITE_URL",
        f"{FN}/_shared/client.ts:RESEND_API_KEY",
        "scripts/seed.mjs:SUPABASE_SERVICE_ROLE_KEY",  # not injected outside functions
    }


def test_builtin_env_is_not_undocumented_and_injected_is_no_alias(tmp_path, demo_config):
    files = {
        "src/main.tsx": """
            if (import.meta.env.DEV) console.log(import.meta.env.MODE, import.meta.env.BASE_URL);
            const url = import.meta.env.VITE_API_URL;
        """,
        f"{FN}/a/index.ts": """
            const app = Deno.env.get('APP_URL');
            const api = Deno.env.get('SUPABASE_URL');
            const panel = Deno.env.get('PANEL_URL');
            const ptero = Deno.env.get('PTERODACTYL_URL');
        """,
    }
    t = checkout(tmp_path, files)
    documented = verdicts("CONFIG-ENV-DOCUMENTED", t, demo_config)
    assert {r for r, s in documented.items() if s == "fail"} == {
        "env:VITE_API_URL",
        "env:APP_URL",
        "env:PANEL_URL",
        "env:PTERODACTYL_URL",
    }
    aliases = verdicts("CONFIG-ENV-ALIASES", t, demo_config)
    assert {r for r, s in aliases.items() if s == "fail"} == {
        "setting:PANEL_URL,PTERODACTYL_URL",
        "env:PANEL_URL",  # each name is a location of the one problem
        "env:PTERODACTYL_URL",
    }


# -- CORS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # bearer token: a cross-site page cannot send it
        (
            """
            Deno.serve(async (req) => {
              const { data } = await admin.auth.getUser(req.headers.get('Authorization')!);
              await admin.auth.admin.updateUserById(data.user!.id, { email: 'x' });
              return new Response('ok', { headers: { 'Access-Control-Allow-Origin': '*' } });
            });
            """,
            "pass",
        ),
        # signature-verified webhook
        (
            """
            Deno.serve(async (req) => {
              const event = await stripe.webhooks.constructEventAsync(await req.text(),
                req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
              await admin.from('orders').update({ paid: true }).eq('id', event.id);
              return new Response('ok', { headers: { 'Access-Control-Allow-Origin': '*' } });
            });
            """,
            "pass",
        ),
        # true: the session comes from a cookie, so any page can drive it
        (
            """
            Deno.serve(async (req) => {
              const token = req.headers.get('cookie')?.match(/sb-access-token=([^;]+)/)?.[1];
              const { data } = await admin.auth.getUser(token ?? '');
              await admin.auth.admin.updateUserById(data.user!.id, { email: 'x' });
              return new Response('ok', { headers: { 'Access-Control-Allow-Origin': '*' } });
            });
            """,
            "fail",
        ),
        # true (warn): service-role rows to any origin without any caller check
        (
            """
            Deno.serve(async () => {
              const { data } = await admin.from('orders').select('*');
              return Response.json(data, { headers: { 'Access-Control-Allow-Origin': '*' } });
            });
            """,
            "warn",
        ),
    ],
)
def test_cors_wildcard_matters_only_with_ambient_credentials_or_open_data(
    tmp_path, demo_config, body, expected
):
    from readiness.checks.registry import REGISTRY

    path, text = fn("f", body)
    got = verdicts("CONFIG-CORS-PRIVILEGED", checkout(tmp_path, {path: text}), demo_config)
    # the rule fails; a measured precision below high turns that into a review warning
    if expected == "fail" and not REGISTRY["CONFIG-CORS-PRIVILEGED"].precision.may_fail:
        expected = "warn"
    assert got["function:f"] == expected


# -- health checks --------------------------------------------------------------------------


def test_health_checks_expose_no_data(tmp_path, demo_config):
    files = dict(
        [
            fn(
                "health",
                """
                async function probe() {
                  const started = Date.now();
                  const { count, error } = await admin.from('plans')
                    .select('*', { count: 'exact', head: true });
                  return { db: !error, plans: count ?? 0, ms: Date.now() - started };
                }
                Deno.serve(async () => {
                  const checks = await probe();
                  return new Response(JSON.stringify({
                    status: checks.db ? 'ok' : 'down', checks, at: new Date().toISOString(),
                  }), { headers: { 'Access-Control-Allow-Origin': '*' } });
                });
                """,
            ),
            # true: the same ping, but the rows go back to the caller
            fn(
                "leaky-health",
                """
                import { serve } from 'https://deno.land/std/http/server.ts';
                serve(async () => {
                  const { data, error } = await admin.from('orders').select('*').limit(5);
                  return jsonResponse({ ok: !error, sample: data });
                });
                function jsonResponse(body: unknown) {
                  return new Response(JSON.stringify(body), {
                    headers: { 'Access-Control-Allow-Origin': '*' },
                  });
                }
                """,
            ),
            # true: rows gathered into an accumulator first
            fn(
                "gathered",
                """
                Deno.serve(async () => {
                  const results = [];
                  for (const t of ['orders', 'profiles']) {
                    const { data } = await admin.from(t).select('*');
                    results.push({ t, rows: data });
                  }
                  return new Response(JSON.stringify({ results }));
                });
                """,
            ),
            # true: nothing is returned, but every caller triggers a write
            fn(
                "cleanup",
                """
                Deno.serve(async () => {
                  const { error } = await admin.from('sessions').delete().lt('expires', 'now()');
                  return new Response(JSON.stringify({ ok: !error }));
                });
                """,
            ),
        ]
    )
    t = checkout(tmp_path, files, open_fns=("health", "leaky-health", "gathered", "cleanup"))
    nojwt = verdicts("AUTH-NOJWT-SERVICE-ROLE", t, demo_config)
    assert nojwt["function:health"] == "pass"
    assert nojwt["function:leaky-health"] == "fail"
    assert nojwt["function:gathered"] == "fail"
    assert nojwt["function:cleanup"] == "fail"
    files2 = {k.replace("/health/", "/health2/"): v for k, v in files.items() if "/health/" in k}
    files2.update(
        {k.replace("leaky-health", "leaky2"): v for k, v in files.items() if "leaky" in k}
    )
    t2 = checkout(tmp_path / "verify-on", files2)
    cors = verdicts("CONFIG-CORS-PRIVILEGED", t2, demo_config)
    assert cors["function:health2"] == "pass"
    assert cors["function:leaky2"] == "warn"
