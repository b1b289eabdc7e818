// Opens the Stripe billing portal for the signed-in customer. Only the shop's own sites
// may call it from a browser.
import Stripe from 'npm:stripe@17.7.0';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!, {
  apiVersion: '2025-02-24.acacia',
  httpClient: Stripe.createFetchHttpClient(),
});

const ALLOWED_ORIGINS = ['https://gamehost.example', 'https://www.gamehost.example'];

function corsFor(req: Request): Record<string, string> {
  const origin = req.headers.get('Origin') ?? '';
  return {
    'Access-Control-Allow-Origin': ALLOWED_ORIGINS.includes(origin) ? origin : ALLOWED_ORIGINS[0],
    'Access-Control-Allow-Headers': 'authorization, content-type',
    Vary: 'Origin',
  };
}

Deno.serve(async (req: Request) => {
  const headers = { ...corsFor(req), 'Content-Type': 'application/json' };
  const reply = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers });
  if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers });
  if (req.method !== 'POST') return reply({ error: 'Method not allowed' }, 405);

  const jwt = bearerToken(req);
  if (!jwt) return reply({ error: 'Sign in first' }, 401);
  const { data: auth, error: authError } = await supabaseAdmin.auth.getUser(jwt);
  if (authError || !auth.user) return reply({ error: 'Your session has expired' }, 401);

  const body = (await req.json()) as { returnUrl?: string };
  const { data: order, error } = await supabaseAdmin
    .from('orders')
    .select('stripe_customer_id')
    .eq('user_id', auth.user.id)
    .limit(1)
    .maybeSingle();
  if (error) {
    console.error('customer lookup failed', error);
    return reply({ error: 'Could not open billing' }, 500);
  }
  if (!order?.stripe_customer_id) return reply({ error: 'No subscription yet' }, 404);

  try {
    const portal = await stripe.billingPortal.sessions.create({
      customer: order.stripe_customer_id,
      return_url: body.returnUrl,
    });
    return reply({ url: portal.url });
  } catch (err) {
    console.error('billing portal failed', err);
    return reply({ error: 'Could not open billing' }, 502);
  }
});
