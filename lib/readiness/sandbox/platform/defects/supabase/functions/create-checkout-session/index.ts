// Starts a Stripe Checkout subscription for one plan. The price always comes from the
// `plans` table: the browser only names the plan, it never sends a price.
import Stripe from 'npm:stripe@17.7.0';
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!, {
  apiVersion: '2025-02-24.acacia',
  httpClient: Stripe.createFetchHttpClient(),
});

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9 _-]{1,39}$/;

interface CheckoutBody {
  plan_id?: unknown;
  region?: unknown;
  server_name?: unknown;
}

Deno.serve(async (req: Request) => {
  const early = preflight(req);
  if (early) return early;
  if (req.method !== 'POST') return jsonResponse({ error: 'Method not allowed' }, 405);

  try {
    const jwt = bearerToken(req);
    if (!jwt) return jsonResponse({ error: 'Sign in to buy a server' }, 401);
    const { data: auth, error: authError } = await supabaseAdmin.auth.getUser(jwt);
    if (authError || !auth.user) return jsonResponse({ error: 'Your session has expired' }, 401);
    const user = auth.user;

    const { plan_id, region, server_name } = (await req.json()) as CheckoutBody;
    if (typeof plan_id !== 'string' || typeof region !== 'string') {
      return jsonResponse({ error: 'plan_id and region are required' }, 400);
    }
    if (typeof server_name !== 'string' || !SERVER_NAME.test(server_name)) {
      return jsonResponse({ error: 'Server names use 2-40 letters, digits, spaces, - or _' }, 400);
    }

    const { data: plan, error: planError } = await supabaseAdmin
      .from('plans')
      .select('id, stripe_price_id')
      .eq('id', plan_id)
      .eq('active', true)
      .maybeSingle();
    if (planError) throw planError;
    if (!plan?.stripe_price_id) return jsonResponse({ error: 'This plan is not for sale' }, 404);

    const { count, error: nodeError } = await supabaseAdmin
      .from('ptero_nodes')
      .select('id', { count: 'exact', head: true })
      .eq('region', region)
      .eq('enabled', true);
    if (nodeError) throw nodeError;
    if (!count) return jsonResponse({ error: `Region ${region} is not available` }, 400);

    const siteUrl = req.headers.get('origin') ?? Deno.env.get('SITE_URL')!;
    const metadata = {
      user_id: user.id,
      plan_id: plan.id,
      region,
      server_name,
    };

    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: plan.stripe_price_id, quantity: 1 }],
      customer_email: user.email,
      client_reference_id: user.id,
      metadata,
      subscription_data: { metadata },
      success_url: `${siteUrl}/checkout/success?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${siteUrl}/pricing?checkout=canceled`,
    });

    return jsonResponse({ url: session.url, session_id: session.id });
  } catch (err) {
    console.error('create-checkout-session failed', err);
    return jsonResponse({ error: 'Could not start checkout, please try again' }, 500);
  }
});
