# ruff: noqa: E501  (code snippets read best on one line)
"""Issue 13 §4 false-positive classes of the frontend, error and quality checks, each on
snippets written in several styles (Vite + React Router, Next.js app router, a Node script
at the root, react-query, try/catch with a toast), with the true pattern that must stay
found next to the one that must not be flagged."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.codebase import collect_codebase
from readiness.static.rules.tables import TABLES, frame
from readiness.static.sql.catalog import COLUMNS as SCHEMA_TABLES

VITE_HTML = '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n'
VITE_PKG = '{"name": "shop", "scripts": {"dev": "vite", "build": "vite build"}, "dependencies": {"react": "18"}}\n'
NEXT_PKG = '{"name": "saas", "scripts": {"dev": "next dev", "build": "next build"}, "dependencies": {"next": "14"}}\n'
TSCONFIG = '{\n  // comments are allowed here\n  "compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["./src/*"]}}\n}\n'


def tables_of(root: Path, files: dict[str, str]) -> dict[str, pd.DataFrame]:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return collect_codebase(root).tables


def findings(check_id: str, tables: dict[str, pd.DataFrame], config, **extra: pd.DataFrame):
    """(status, location, reason) of every finding of one check over the code tables."""
    all_checks()
    full = {name: frame(name, []) for name in TABLES}
    full.update({name: schema_frame(name, []) for name in SCHEMA_TABLES})
    full.update(tables)
    full.update(extra)
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema")}
    snapshot = Snapshot(datetime(2026, 12, 1, tzinfo=UTC), states, full)
    return [
        (f.status.value, f.location, f.reason)
        for f in evaluate_check(REGISTRY[check_id], snapshot, config)
    ]


def schema_frame(name: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SCHEMA_TABLES[name])).astype(SCHEMA_TABLES[name])


def bad(result: list[tuple[str, str | None, str]]) -> dict[str, str]:
    """location → reason of the fail/warn findings."""
    return {loc: why for status, loc, why in result if status in ("fail", "warn")}


def kinds(t: dict[str, pd.DataFrame]) -> dict[str, str]:
    return dict(zip(t["code_files"]["path"], t["code_files"]["kind"], strict=True))


# --- what is frontend -------------------------------------------------------------------------

VITE_APP = {
    "package.json": VITE_PKG,
    "tsconfig.json": TSCONFIG,
    "index.html": VITE_HTML,
    "src/main.tsx": """
        import { createRoot } from 'react-dom/client';
        import App from './App';
        createRoot(document.getElementById('root')!).render(<App />);
    """,
    "src/App.tsx": """
        import { BrowserRouter, Routes, Route } from 'react-router-dom';
        import { lazy } from 'react';
        import Pricing from '@/pages/Pricing';
        const Profile = lazy(() => import('./pages/Profile'));
        export default function App() {
          return <BrowserRouter><Routes><Route path="/pricing" element={<Pricing />} /><Route path="/me" element={<Profile />} /></Routes></BrowserRouter>;
        }
    """,
    "src/pages/Pricing.tsx": """
        import { supabase } from '@/lib/supabase';
        export default function Pricing() {
          const buy = async (priceId: string) => {
            try {
              const { data, error } = await supabase.functions.invoke('create-checkout-session', { body: { priceId } });
              if (error) throw error;
              window.location.href = data.url;
            } catch (err) {
              console.error('checkout failed', err);
            }
          };
          return <button onClick={() => buy('price_1Pq8sHKx2AbCdEf')}>Buy</button>;
        }
    """,
    "src/pages/Profile.tsx": """
        import { supabase } from '@/lib/supabase';
        export default function Profile() {
          const load = async () => {
            try { await supabase.from('profiles').select('*'); } catch (e) { console.error(e); }
          };
          return <input placeholder="Your name" onFocus={load} />;
        }
    """,
    "src/lib/supabase.ts": """
        import { createClient } from '@supabase/supabase-js';
        export const supabase = createClient(import.meta.env.VITE_SUPABASE_URL, import.meta.env.VITE_SUPABASE_ANON_KEY);
        export const admin = createClient(import.meta.env.VITE_SUPABASE_URL, import.meta.env.VITE_SUPABASE_SERVICE_ROLE_KEY);
    """,
    "src/pages/OldCheckout.tsx": """
        import { helper } from './missing-helper';
        const PRICE = { priceId: 'price_basic_monthly' };
        export const old = async () => { try { await fetch('/api/checkout'); } catch (e) { console.log(e); } };
    """,
    "seed-users.mjs": """
        import { createClient } from '@supabase/supabase-js';
        const admin = createClient(process.env.SUPABASE_URL, process.env.SUPABASE_SERVICE_ROLE_KEY);
        try { await admin.auth.admin.createUser({ email: 'a@b.c' }); } catch {}
    """,
    "server/index.js": """
        const stripe = require('stripe')(process.env.STRIPE_SECRET_KEY);
        module.exports = stripe;
    """,
}


def test_vite_app_reachability_decides_what_is_frontend(tmp_path: Path) -> None:
    k = kinds(tables_of(tmp_path, VITE_APP))
    for path in (
        "src/main.tsx",
        "src/App.tsx",
        "src/pages/Pricing.tsx",
        "src/pages/Profile.tsx",
        "src/lib/supabase.ts",
    ):
        assert k[path] == "frontend", path  # through './App', the @/ alias and lazy import()
    assert k["src/pages/OldCheckout.tsx"] == "unused"  # no route or import reaches it
    assert k["seed-users.mjs"] == "other"  # a Node script at the root
    assert k["server/index.js"] == "server"


def test_frontend_keys_public_prefix_stays_critical_node_script_does_not(
    tmp_path, demo_config
) -> None:
    t = tables_of(tmp_path, VITE_APP)
    got = bad(findings("AUTH-FRONTEND-KEYS", t, demo_config))
    assert list(got) == ["src/lib/supabase.ts:3"]  # VITE_…SERVICE_ROLE_KEY is in the bundle
    assert "VITE_SUPABASE_SERVICE_ROLE_KEY" in got["src/lib/supabase.ts:3"]


NEXT_APP = {
    "package.json": NEXT_PKG,
    "tsconfig.json": '{"compilerOptions": {"paths": {"@/*": ["./*"]}}}\n',
    "next.config.js": "module.exports = {};\n",
    "app/page.tsx": """
        import { createClient } from '@/utils/supabase/server';
        import SubscribeButton from './SubscribeButton';
        export default async function Page() {
          const supabase = await createClient();
          const { data } = await supabase.from('subscriptions').select('*').eq('status', 'trialing');
          return <SubscribeButton priceId="price_1AbCdEfGhIjKlMn" />;
        }
    """,
    "app/SubscribeButton.tsx": """
        'use client'
        import { useState } from 'react';
        export default function SubscribeButton({ priceId }: { priceId: string }) {
          const [error, setError] = useState<string | null>(null);
          const subscribe = async () => {
            try {
              const res = await fetch('/api/create-checkout-session', { method: 'POST', body: JSON.stringify({ priceId }) });
              window.location.href = (await res.json()).url;
            } catch (error) {
              console.error('Error creating checkout session:', error);
            }
          };
          const portal = async () => {
            try { await fetch('/api/create-portal-session'); } catch (e) { setError('Could not open billing'); }
          };
          return <button onClick={subscribe}>{error}</button>;
        }
    """,
    "app/admin/AdminPanel.tsx": """
        'use client'
        import { createClient } from '@supabase/supabase-js';
        export const admin = createClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, process.env.NEXT_PUBLIC_SUPABASE_SERVICE_ROLE_KEY!);
    """,
    "app/api/create-checkout-session/route.ts": """
        import Stripe from 'stripe';
        import { NextResponse } from 'next/server';
        const stripe = new Stripe(process.env.STRIPE_SECRET_KEY!);
        export async function POST(req: Request) {
          const session = await stripe.checkout.sessions.create({ mode: 'subscription' });
          return NextResponse.json({ url: session.url });
        }
    """,
    "app/actions.ts": """
        'use server'
        export async function cancel() { return process.env.STRIPE_SECRET_KEY; }
    """,
    "lib/stripe.ts": """
        import 'server-only';
        import Stripe from 'stripe';
        export const stripe = new Stripe(process.env.STRIPE_SECRET_KEY!);
    """,
    "utils/supabase/server.ts": """
        import { createServerClient } from '@supabase/ssr';
        import { cookies } from 'next/headers';
        export async function createClient() {
          const cookieStore = await cookies();
          return createServerClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY!, {
            cookies: {
              getAll() { return cookieStore.getAll(); },
              setAll(cookiesToSet) {
                try {
                  cookiesToSet.forEach(({ name, value, options }) => cookieStore.set(name, value, options));
                } catch {
                  // The `setAll` method was called from a Server Component.
                }
              },
            },
          });
        }
    """,
    "middleware.ts": """
        export function middleware(req: Request) { return fetch(process.env.SUPABASE_SERVICE_ROLE_KEY!); }
    """,
}


def test_next_app_router_server_files_are_not_frontend(tmp_path: Path) -> None:
    k = kinds(tables_of(tmp_path, NEXT_APP))
    assert (
        k["app/SubscribeButton.tsx"] == "frontend" and k["app/admin/AdminPanel.tsx"] == "frontend"
    )
    for path in (
        "app/page.tsx",
        "app/api/create-checkout-session/route.ts",
        "app/actions.ts",
        "lib/stripe.ts",
        "utils/supabase/server.ts",
        "middleware.ts",
    ):
        assert k[path] == "server", path


def test_next_route_handlers_and_server_only_hold_keys_client_component_does_not(
    tmp_path, demo_config
) -> None:
    t = tables_of(tmp_path, NEXT_APP)
    result = findings("AUTH-FRONTEND-KEYS", t, demo_config)
    assert list(bad(result)) == ["app/admin/AdminPanel.tsx:3"]
    assert [s for s, loc, _ in result if loc == "app/admin/AdminPanel.tsx:3"] == ["fail"]
    assert REGISTRY["AUTH-FRONTEND-KEYS"].severity.value == "critical"


# --- errors in hooks --------------------------------------------------------------------------


def test_purchase_catch_that_only_logs_is_found_other_hooks_are_not(tmp_path, demo_config) -> None:
    t = tables_of(tmp_path, VITE_APP)
    got = bad(findings("FE-HOOK-ERRORS", t, demo_config))
    # the checkout call in Pricing stays found; the profile fetch, the dead page and the
    # root script are not checkout paths the app runs
    assert list(got) == ["src/pages/Pricing.tsx:8"]
    assert "create-checkout-session" in got["src/pages/Pricing.tsx:8"]


def test_next_client_component_catch_logs_vs_sets_error(tmp_path, demo_config) -> None:
    t = tables_of(tmp_path, NEXT_APP)
    assert list(bad(findings("FE-HOOK-ERRORS", t, demo_config))) == ["app/SubscribeButton.tsx:9"]


HOOK_STYLES = {
    "package.json": VITE_PKG,
    "index.html": VITE_HTML,
    "src/main.tsx": "import './Checkout';\nimport './Upgrade';\nimport './Plans';\nimport './Phone';\n",
    "src/hooks/useCheckout.ts": """
        import { useMutation } from '@tanstack/react-query';
        import { toast } from 'sonner';
        export function useCheckout() {
          return useMutation({
            mutationFn: async (priceId: string) => {
              const { data, error } = await supabase.functions.invoke('create-checkout', { body: { priceId } });
              if (error) throw error;
              return data;
            },
            onError: (e: Error) => toast.error(e.message),
          });
        }
    """,
    "src/Checkout.tsx": """
        import { useCheckout } from './hooks/useCheckout';
        export function Checkout() {
          const checkout = useCheckout();
          const go = async () => {
            try {
              const { url } = await checkout.mutateAsync('price_1');
              window.location.assign(url);
            } catch (e) {
              console.error(e); // the mutation's onError already toasted
            }
          };
          return <button onClick={go}>Pay</button>;
        }
    """,
    "src/Upgrade.tsx": """
        import { toast } from '@/components/ui/use-toast';
        export async function handleUpgrade(plan: string) {
          try {
            await stripe.redirectToCheckout({ sessionId: plan });
          } catch (err: any) {
            console.error(err);
            toast({ title: 'Payment failed', description: err.message, variant: 'destructive' });
          }
        }
        export function startPortal() {
          supabase.functions.invoke('customer-portal').then(({ data }) => window.open(data.url)).catch((e) => console.error(e));
        }
        export function cleanup(channel: any) {
          try { supabase.removeChannel(channel); } catch (e) { console.warn(e); }
        }
    """,
    "src/hooks/usePhone.ts": """
        export function usePurchaseNumber() {
          const api = useApi();
          return useMutation({
            mutationFn: (n: string) => api.invoke('voip-purchase-number', { body: { n }, toast: { error: 'Could not buy the number' } }),
          });
        }
    """,
    "src/Phone.tsx": """
        import { usePurchaseNumber } from './hooks/usePhone';
        export function Phone() {
          const purchaseNumber = usePurchaseNumber();
          const buy = async (n: string) => {
            try { await purchaseNumber.mutateAsync(n); } catch (error) { /* handled by the mutation */ }
          };
          return <button onClick={() => buy('1')} />;
        }
    """,
    "src/Plans.tsx": """
        export async function purchase(planId: string) {
          try {
            return await createPaymentIntent(planId);
          } catch (e) {
            console.log('purchase failed', e);
            throw e;
          }
        }
        async function createPaymentIntent(planId: string) {
          return fetch(`${API}/payments/intent`, { method: 'POST', body: planId });
        }
        export function PurchaseModal() {
          const [hasPaymentMethod, setHasPaymentMethod] = useState(false);
          const checkPaymentStatus = async () => {
            try { await supabase.from('creator_payment_info').select('*'); } catch (e) { console.error(e); }
          };
          const loadPoints = async () => {
            try { setHasPaymentMethod(await hasCard()); await supabase.rpc('get_points'); } catch (e) { console.error(e); }
          };
          return null;
        }
        export function navigateAway(navigate: any) {
          return fetch('/api/checkout').catch(() => navigate('/checkout/error'));
        }
    """,
}


def test_hook_styles_react_query_toast_rethrow_navigation(tmp_path, demo_config) -> None:
    t = tables_of(tmp_path, HOOK_STYLES)
    got = bad(findings("FE-HOOK-ERRORS", t, demo_config))
    # react-query onError toasts (callee surfaced), toast in the catch, rethrow and
    # navigation are handled; the portal promise that only logs is the one finding
    assert list(got) == ["src/Upgrade.tsx:11"]
    assert "customer-portal" in got["src/Upgrade.tsx:11"]


# --- empty catches ----------------------------------------------------------------------------


def test_empty_catch_grouped_per_file_commented_and_ssr_idiom_ignored(
    tmp_path, demo_config
) -> None:
    files = {
        **NEXT_APP,
        "app/Cart.tsx": """
            'use client'
            export function read() { try { return JSON.parse(localStorage.getItem('cart')!); } catch {} }
            export function clear() { try { localStorage.removeItem('cart'); } catch (e) {} }
            export function vibrate() { try { navigator.vibrate(10); } catch { /* haptics are optional */ } }
        """,
        "app/Cart.test.tsx": "try { x(); } catch {}\n",
    }
    t = tables_of(tmp_path, files)
    result = findings("ERR-EMPTY-CATCH", t, demo_config)
    got = bad(result)
    assert list(got) == ["app/Cart.tsx:2"]  # one finding, both silent catches, not the test
    assert "lines 2, 3" in got["app/Cart.tsx:2"]
    assert "utils/supabase/server.ts" not in " ".join(got)


# --- catches that log through a helper --------------------------------------------------------


def test_catch_logs_through_helper_and_parse_fallback(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/_shared/utils.ts": """
                export function buildErrorResponse(error: unknown, status: number): Response {
                  console.error(error);
                  return new Response(JSON.stringify({ error: String(error) }), { status });
                }
            """,
            "supabase/functions/pay/index.ts": """
                import { buildErrorResponse } from '../_shared/utils.ts';
                Deno.serve(async (req) => {
                  let body: any = {};
                  try { body = await req.json(); } catch { /* optional body */ }
                  const res = await fetch(url);
                  const extra = await res.json().catch(() => ({}));
                  try {
                    return await work(body);
                  } catch (error) {
                    return buildErrorResponse(error, 500);
                  }
                });
            """,
            "supabase/functions/_shared/jwt.ts": """
                export function decode(token: string) {
                  try { return JSON.parse(atob(token.split('.')[1])); } catch { return null; }
                }
                export const fmt = (d: string) => { try { return new Date(d).toLocaleDateString('fr-FR'); } catch { return d; } };
            """,
            "supabase/functions/refund/index.ts": """
                Deno.serve(async (req) => {
                  try {
                    return await refund(await req.json());
                  } catch (err) {
                    return new Response(JSON.stringify({ error: err.message }), { status: 500 });
                  }
                });
            """,
        },
    )
    assert list(bad(findings("ERR-CATCH-LOGS", t, demo_config))) == [
        "supabase/functions/refund/index.ts:4"
    ]


# --- placeholders -----------------------------------------------------------------------------


def test_placeholders_are_id_key_price_shaped_not_ui_copy(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "src/config.ts": """
                export const PRICES = { basic: 'price_basic_monthly', pro: 'price_1NxYzAbCdEf12345678' };
                export const STRIPE_PK = 'pk_test_xxxxxxxxxxxxxxxxxxxxxxxx';
            """,
            "src/env.ts": "export const KEY = 'YOUR_STRIPE_SECRET_KEY_HERE';\n",
            "src/Form.tsx": """
                export const Form = () => <div><input placeholder="Your name" /><span>{'TBD'}</span>
                  <p>{t('form.input_placeholder')}</p><p>{'Combination nicotine replacement therapy'}</p></div>;
                export const copy = { title: 'Your Messages', cta: 'Your Order', mask: 'XXXX-XXXX' };
            """,
            "supabase/migrations/001.sql": "insert into tags(name) values ('changement'), ('XXXX');\n",
        },
    )
    got = bad(findings("QUALITY-PLACEHOLDERS", t, demo_config))
    assert set(got) == {"src/config.ts:1", "src/env.ts:1"}
    assert "price_basic_monthly" in got["src/config.ts:1"] and "pk_test_" in got["src/config.ts:1"]
    assert not bad(findings("FE-STRIPE-KEYS", t, demo_config))  # pk_test_xxxx… is no key


# --- undefined identifiers --------------------------------------------------------------------


def test_runtime_globals_and_type_names_are_defined(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "src/dom.ts": """
                export const doc = new DOMParser().parseFromString(html, 'text/html');
                export const w = screen.width + (window.PerformanceObserver ? 1 : 0);
                const obs = new PerformanceObserver(() => {});
                export const isPasskey = typeof PublicKeyCredential !== 'undefined';
                export function onErr(e: GeolocationPositionError) { return e.code === GeolocationPositionError.TIMEOUT; }
                export const counts = rows.reduce((acc, r) => acc, {} as { [key: string]: number });
                outer: for (const x of [1]) { break outer; }
            """,
            "src/types/pwa.d.ts": "declare module 'virtual:pwa' {\n  export function useRegisterSW(o?: { immediate?: boolean }): void\n}\n",
            "src/vite-env.d.ts": "declare const __APP_VERSION__: string;\n",
            "src/version.ts": "export const v = __APP_VERSION__;\n",
            "supabase/functions/bg/index.ts": """
                import { getCorsHeaders } from '../_shared/cors.ts';
                EdgeRuntime.waitUntil(Promise.resolve());
                setImmediate(() => {});
                const err = (error as unknown as { [key: string]: unknown })['message'];
                Deno.serve(() => new Response('ok', { headers: corsHeaders }));
                const row = { amount_gross, eligible_amount };
            """,
            "supabase/functions/_shared/cors.ts": "export const getCorsHeaders = () => ({});\n",
        },
    )
    result = findings("QUALITY-UNDEFINED-IDENTIFIERS", t, demo_config)
    names = {why.split(" is used")[0] for status, _, why in result if status == "fail"}
    assert names == {"html", "rows", "error", "corsHeaders", "amount_gross", "eligible_amount"}


# --- missing imports --------------------------------------------------------------------------


def test_missing_imports_one_finding_per_file_unused_files_skipped(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            **VITE_APP,
            "src/App.tsx": VITE_APP["src/App.tsx"]
            + "import A from './pages/A';\nimport B from './pages/B';\n",
        },
    )
    got = bad(findings("QUALITY-MISSING-IMPORTS", t, demo_config))
    assert list(got) == ["src/App.tsx:8"]  # A and B in one finding; OldCheckout is unused
    assert "./pages/A" in got["src/App.tsx:8"] and "./pages/B" in got["src/App.tsx:8"]


# --- dashboard statuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,written,expected",
    [
        ("booking_status", False, "info"),  # an enum: Postgres rejects other values itself
        ("text", True, "pass"),  # no CHECK, but the code writes 'completed'
        ("text", False, "warn"),  # no CHECK and nothing writes it
        ("text", "default", "pass"),  # the column default is 'completed'
    ],
)
def test_dashboard_status_enum_and_written_values(
    tmp_path, demo_config, dtype, written, expected
) -> None:
    files = {
        **VITE_APP,
        "src/pages/Profile.tsx": "import { supabase } from '@/lib/supabase';\nexport default () => supabase.from('bookings').select('*').eq('status', 'completed');\n",
    }
    if written is True:
        files["src/pages/Pricing.tsx"] = (
            "import { supabase } from '@/lib/supabase';\nexport default () => supabase.from('bookings').update({ status: 'completed' }).eq('id', 1);\n"
        )
    t = tables_of(tmp_path, files)
    columns = schema_frame(
        "schema_columns",
        [
            {
                "schema": "public",
                "table": "bookings",
                "column": "status",
                "data_type": dtype,
                "nullable": False,
                "default": "'completed'::text" if written == "default" else None,
                "ordinal": 2,
            }
        ],
    )
    result = findings("FE-DASHBOARD-STATUSES", t, demo_config, schema_columns=columns)
    assert [s for s, loc, _ in result if loc == "src/pages/Profile.tsx:2"] == [expected]


# --- values the frontend sends ----------------------------------------------------------------


def test_values_sent_not_mock_returns_and_slugs_count(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            **VITE_APP,
            "src/pages/Profile.tsx": """
                import { supabase } from '@/lib/supabase';
                export default function Profile() {
                  const create = () => supabase.from('hosting').insert({ name: 'x', plan: 'starter' });
                  const upgrade = () => supabase.functions.invoke('upgrade', { body: { plan: 'platinum' } });
                  return <button onClick={() => { create(); upgrade(); }} />;
                }
            """,
            "src/lib/supabase.ts": """
                export const supabase: any = null;
                export async function getSubscription(id: string) {
                  return { id, planId: 'price_test', status: 'active' };
                }
                export const fake = () => ({ plan: 'Pro Hosting' });
            """,
            "supabase/migrations/001_plans.sql": "create table plans(id uuid primary key default gen_random_uuid(), slug text, name text);\ninsert into plans (slug, name) values ('starter', 'Starter');\n",
        },
    )
    got = bad(findings("FE-VALUES-ACCEPTED", t, demo_config))
    assert list(got) == ["src/pages/Profile.tsx:4"]  # platinum; starter is a seeded slug
    assert "platinum" in got["src/pages/Profile.tsx:4"]


# --- handler catches that answer through a helper ---------------------------------------------


def test_handler_catch_status_through_init_helper_and_ternary(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/_lib/http.ts": """
                export function json(data: unknown, init: ResponseInit = {}) {
                  return new Response(JSON.stringify(data), { ...init, headers: { 'Content-Type': 'application/json' } });
                }
            """,
            "supabase/functions/crud/index.ts": """
                import { json } from '../_lib/http.ts';
                Deno.serve(async (req) => {
                  try {
                    return json({ rows: await list(req) });
                  } catch (error) {
                    console.error(error);
                    return json({ error: error.message }, { status: error.message.includes('Unauthorized') ? 401 : 500 });
                  }
                });
            """,
            "supabase/functions/notes/index.ts": """
                Deno.serve(async (req) => {
                  try {
                    return new Response(JSON.stringify(await notes(req)), { headers: { 'Content-Type': 'application/json' } });
                  } catch (error) {
                    console.error(error);
                    return new Response(JSON.stringify({ error: error.message }), { status: error.message === 'Unauthorized' ? 401 : 400, headers: { 'Content-Type': 'application/json' } });
                  }
                });
            """,
            "supabase/functions/hook/index.ts": """
                import { json } from '../_lib/http.ts';
                Deno.serve(async (req) => {
                  try {
                    return json({ received: true });
                  } catch (error) {
                    console.error(error);
                    return json({ received: true, error: String(error) });
                  }
                });
            """,
        },
    )
    got = bad(findings("ERR-HANDLER-TRY", t, demo_config))
    assert list(got) == ["supabase/functions/hook/index.ts:5"]  # a 200 on error stays found
    assert "200" in got["supabase/functions/hook/index.ts:5"]


# --- redirect origins ---------------------------------------------------------------------------


def test_redirect_origin_module_constant_is_fixed_body_url_is_request(
    tmp_path, demo_config
) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/subscribe/index.ts": """
                const APP_URL = "https://app.example.com";
                Deno.serve(async (req) => {
                  const session = await stripe.checkout.sessions.create({
                    success_url: `${APP_URL}/welcome?session_id={CHECKOUT_SESSION_ID}`,
                    cancel_url: `${APP_URL}/plans?checkout=cancel`,
                  });
                  return Response.json({ url: session.url });
                });
            """,
            "supabase/functions/pay/index.ts": """
                Deno.serve(async (req) => {
                  const { amount, successUrl, cancelUrl } = await req.json();
                  const session = await stripe.checkout.sessions.create({ success_url: successUrl, cancel_url: cancelUrl });
                  return Response.json({ url: session.url });
                });
            """,
        },
    )
    result = findings("FE-REDIRECT-ORIGIN", t, demo_config)
    assert {loc: s for s, loc, _ in result if s != "pass"} == {
        "supabase/functions/pay/index.ts:3": "fail"
    }
    assert [s for s, loc, _ in result if loc.startswith("supabase/functions/subscribe/")] == [
        "pass",
        "pass",
    ]


def test_redirect_route_with_an_id_segment_matches_a_param_route(tmp_path, demo_config) -> None:
    app = VITE_APP["src/App.tsx"].replace(
        '<Route path="/me" element={<Profile />} />',
        '<Route path="/me" element={<Profile />} /><Route path="/booking/pay/:bookingId" element={<Profile />} />',
    )
    t = tables_of(
        tmp_path,
        {
            **VITE_APP,
            "src/App.tsx": app,
            "supabase/functions/book/index.ts": """
                Deno.serve(async (req) => {
                  const session = await stripe.checkout.sessions.create({
                    success_url: `${Deno.env.get('SITE_URL')}/booking/pay/${booking.id}?paid=1`,
                    cancel_url: `${Deno.env.get('SITE_URL')}/bookings/${booking.id}`,
                  });
                  return Response.json({ url: session.url });
                });
            """,
        },
    )
    got = bad(findings("FE-REDIRECT-ROUTED", t, demo_config))
    assert list(got) == ["supabase/functions/book/index.ts:4"]  # /bookings/:id is no route


def test_handler_catch_status_from_a_shared_constant(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/_shared/codes.ts": "export const ERROR_CODE = { BAD_REQUEST: 400, OK: 200 };\n",
            "supabase/functions/_shared/utils.ts": """
                export function buildErrorResponse(error: unknown, status: number): Response {
                  console.error(error);
                  return new Response(JSON.stringify({ error: String(error) }), { status, headers: { 'Content-Type': 'application/json' } });
                }
            """,
            "supabase/functions/a/index.ts": """
                import { ERROR_CODE } from '../_shared/codes.ts';
                import { buildErrorResponse } from '../_shared/utils.ts';
                Deno.serve(async (req) => {
                  try { return Response.json(await work(req)); } catch (e) { return buildErrorResponse(e, ERROR_CODE.BAD_REQUEST); }
                });
            """,
            "supabase/functions/b/index.ts": """
                import { ERROR_CODE } from '../_shared/codes.ts';
                import { buildErrorResponse } from '../_shared/utils.ts';
                Deno.serve(async (req) => {
                  try { return Response.json(await work(req)); } catch (e) { return buildErrorResponse(e, ERROR_CODE.OK); }
                });
            """,
        },
    )
    assert list(bad(findings("ERR-HANDLER-TRY", t, demo_config))) == [
        "supabase/functions/b/index.ts:4"
    ]


def test_commented_catch_around_a_function_service_call_is_a_low_review(
    tmp_path, demo_config
) -> None:
    t = tables_of(
        tmp_path,
        {
            **VITE_APP,
            "src/pages/Profile.tsx": """
                export default async function Profile() {
                  try { await supabase.storage.from('photos').remove([p]); } catch { /* external URLs have no object */ }
                }
            """,
            "supabase/functions/panel-user/index.ts": """
                Deno.serve(async (req) => {
                  let existing = null;
                  try {
                    existing = await findPanelUser(req);
                  } catch {
                    // no panel user yet
                  }
                  return Response.json({ existing });
                });
            """,
        },
    )
    result = findings("ERR-EMPTY-CATCH", t, demo_config)
    assert [(s, loc) for s, loc, _ in result if s != "pass"] == [
        ("warn", "supabase/functions/panel-user/index.ts:5")
    ]
    all_checks()
    got = [
        f
        for f in evaluate_check(
            REGISTRY["ERR-EMPTY-CATCH"],
            Snapshot(
                datetime(2026, 12, 1, tzinfo=UTC),
                {"codebase": SourceState("codebase", "ok")},
                {**{n: frame(n, []) for n in TABLES}, **t},
            ),
            demo_config,
        )
        if f.status.value == "warn"
    ]
    assert [f.severity.value for f in got] == ["low"]


def test_handler_catch_status_through_a_helper_of_a_helper(tmp_path, demo_config) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/_lib/http.ts": """
                export function json(data: unknown, init: ResponseInit = {}) {
                  return new Response(JSON.stringify(data), { ...init, headers: { 'Content-Type': 'application/json' } });
                }
            """,
            "supabase/functions/team/index.ts": """
                import { json } from '../_lib/http.ts';
                const ok = (data: unknown, status = 200) => json(data, { status });
                Deno.serve(async (req) => {
                  try {
                    return ok(await add(req));
                  } catch (error) {
                    console.error(error);
                    return ok({ error: error.message }, 500);
                  }
                });
            """,
            "supabase/functions/members/index.ts": """
                import { json } from '../_lib/http.ts';
                const ok = (data: unknown, status = 200) => json(data, { status });
                Deno.serve(async (req) => {
                  try {
                    return ok(await list(req));
                  } catch (error) {
                    return ok({ error: error.message });
                  }
                });
            """,
        },
    )
    assert list(bad(findings("ERR-HANDLER-TRY", t, demo_config))) == [
        "supabase/functions/members/index.ts:6"
    ]


def test_handler_body_parse_try_is_not_its_main_try_and_unparsed_is_unknown(
    tmp_path, demo_config
) -> None:
    t = tables_of(
        tmp_path,
        {
            "supabase/functions/welcome/index.ts": """
                Deno.serve(async (req) => {
                  let body: any = {};
                  try {
                    body = await req.json();
                  } catch {
                    // optional body
                  }
                  await sendEmail(body.email);
                  return Response.json({ ok: true });
                });
            """,
            "supabase/functions/broken/index.ts": "Deno.serve(async (req) => { const x = ; });\n",
        },
    )
    result = {loc: (s, why) for s, loc, why in findings("ERR-HANDLER-TRY", t, demo_config)}
    assert result["supabase/functions/welcome/index.ts:1"][0] == "fail"
    assert "no try/catch" in result["supabase/functions/welcome/index.ts:1"][1]
    assert result[None][0] == "not_verified"


def test_unparsable_next_page_is_still_a_route(tmp_path: Path) -> None:
    t = tables_of(
        tmp_path,
        {
            "package.json": NEXT_PKG,
            "app/page.tsx": "'use client'\nexport default function Home() { return <div>; }\n",
            "app/account/page.tsx": "export default function Account() { return null; }\n",
        },
    )
    files = t["code_files"].set_index("path")
    assert not files.loc["app/page.tsx", "parse_ok"]  # the page does not parse
    routes = set(t["code_frontend_routes"]["route"])
    assert {"/", "/account"} <= routes


def test_without_the_runtime_globals_list_undefined_identifiers_are_not_verified(
    tmp_path, monkeypatch
) -> None:
    """The list is generated when the venv is built; missing, the rule would call every
    DOMParser undefined, so the check says it could not judge instead."""
    from readiness.sources.codebase import collect_codebase
    from readiness.static.rules import quality

    (tmp_path / "src").mkdir()
    (tmp_path / "src/parse.ts").write_text("export const doc = new DOMParser();\n")
    monkeypatch.setattr(quality, "RUNTIME_NAMES", None)
    result = collect_codebase(tmp_path)
    assert "code_undefined_identifiers" not in result.tables
    assert any("runtime globals list missing" in n for n in result.notes)


def test_functions_in_a_file_nothing_imports_are_still_dead(tmp_path, demo_config) -> None:
    """Reachability drops an unimported file's frontend facts, never its dead code."""
    from readiness.sources.codebase import collect_codebase

    files = {
        "index.html": '<div id="root"></div><script type="module" src="/src/main.tsx"></script>\n',
        "src/main.tsx": "import { App } from './App';\nApp();\n",
        "src/App.tsx": "export function App() { return null; }\n",
        "src/legacy/format.ts": "function formatPrice(n: number) { return `$${n}`; }\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    defs = collect_codebase(tmp_path).tables["code_function_defs"]
    dead = defs[(defs["name"] == "formatPrice")]
    assert len(dead) == 1 and not bool(dead.iloc[0]["referenced"])
