// Receives Stripe events. Nothing is read or written before the signature is verified;
// a 500 answer makes Stripe retry, so the handler only answers 2xx once the order is saved.
import Stripe from 'npm:stripe@17.7.0';
import { supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const stripe = new Stripe(Deno.env.get('STRIPE_SECRET_KEY')!, {
  apiVersion: '2025-02-24.acacia',
  httpClient: Stripe.createFetchHttpClient(),
});
const cryptoProvider = Stripe.createSubtleCryptoProvider();

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

/** Records a paid order once per subscription; returns its id and current status. */
async function recordPaidOrder(session: Stripe.Checkout.Session) {
  const { user_id, plan_id, region, server_name, term } = session.metadata ?? {};
  if (!user_id || !plan_id || !region || !term) {
    throw new Error(`checkout session ${session.id} is missing order metadata`);
  }
  const subscriptionId =
    typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
  if (!subscriptionId) throw new Error(`checkout session ${session.id} has no subscription`);

  const { data: existing, error: findError } = await supabaseAdmin
    .from('orders')
    .select('id, status')
    .eq('stripe_subscription_id', subscriptionId)
    .maybeSingle();
  if (findError) throw findError;
  if (existing) return existing;

  const { data: order, error } = await supabaseAdmin
    .from('orders')
    .insert({
      user_id,
      plan_id,
      region,
      term,
      server_name: server_name ?? null,
      status: 'paid',
      stripe_checkout_session_id: session.id,
      stripe_subscription_id: subscriptionId,
      stripe_customer_id: typeof session.customer === 'string' ? session.customer : null,
      amount_cents: session.amount_total,
      currency: session.currency,
    })
    .select('id, status')
    .single();
  if (error) throw error;
  return order;
}

/** Asks servers-provision to build the server. A failure throws, so the webhook answers 500
 *  and Stripe retries the event: the retry finds the order again and, while it is still
 *  'paid', asks again. */
async function triggerProvisioning(orderId: string): Promise<void> {
  const res = await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/servers-provision`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ order_id: orderId }),
  });
  if (!res.ok) throw new Error(`servers-provision answered ${res.status} for order ${orderId}`);
}

async function setSubscriptionStatus(subscriptionId: string, status: 'canceled') {
  const { error } = await supabaseAdmin
    .from('orders')
    .update({ status, updated_at: new Date().toISOString() })
    .eq('stripe_subscription_id', subscriptionId);
  if (error) throw error;
}

/** Suspends the panel servers of an ended subscription. A failure throws, so the webhook
 *  answers 500 and Stripe retries the event until the panel has stopped them; a server
 *  the panel no longer knows (404) is already gone. */
async function suspendServers(subscriptionId: string): Promise<void> {
  const { data: orders, error } = await supabaseAdmin
    .from('orders')
    .select('id, pterodactyl_server_id')
    .eq('stripe_subscription_id', subscriptionId);
  if (error) throw error;
  for (const order of orders ?? []) {
    if (order.pterodactyl_server_id == null) continue; // never built: nothing to stop
    const url = `${Deno.env.get('PTERODACTYL_URL')}/api/application/servers/${order.pterodactyl_server_id}/suspend`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${Deno.env.get('PTERODACTYL_API_KEY')}`,
        Accept: 'application/json',
      },
    });
    if (!res.ok && res.status !== 404) {
      throw new Error(`panel answered ${res.status} suspending server of order ${order.id}`);
    }
  }
}

Deno.serve(async (req) => {
  if (req.method !== 'POST') return json({ error: 'Method not allowed' }, 405);
  const signature = req.headers.get('Stripe-Signature');
  if (!signature) return json({ error: 'Missing Stripe-Signature header' }, 400);

  const body = await req.text();
  let event: Stripe.Event;
  try {
    event = await stripe.webhooks.constructEventAsync(
      body,
      signature,
      Deno.env.get('STRIPE_WEBHOOK_SECRET')!,
      undefined,
      cryptoProvider,
    );
  } catch (err) {
    console.error('Stripe signature verification failed', err);
    return json({ error: 'Invalid signature' }, 400);
  }

  try {
    switch (event.type) {
      case 'checkout.session.completed': {
        const order = await recordPaidOrder(event.data.object as Stripe.Checkout.Session);
        if (order.status === 'paid') await triggerProvisioning(order.id);
        break;
      }
      case 'customer.subscription.updated': {
        const subscription = event.data.object as Stripe.Subscription;
        if (['canceled', 'unpaid', 'incomplete_expired'].includes(subscription.status)) {
          await setSubscriptionStatus(subscription.id, 'canceled');
          await suspendServers(subscription.id);
        }
        break;
      }
      case 'customer.subscription.deleted': {
        const subscription = event.data.object as Stripe.Subscription;
        await setSubscriptionStatus(subscription.id, 'canceled');
        await suspendServers(subscription.id);
        break;
      }
      case 'invoice.payment_failed': {
        const invoice = event.data.object as Stripe.Invoice;
        console.warn(`Payment failed for invoice ${invoice.id} (customer ${invoice.customer})`);
        break;
      }
      default:
        console.log(`Ignoring Stripe event ${event.type}`);
    }
    return json({ received: true });
  } catch (err) {
    console.error(`Failed to handle ${event.type} ${event.id}`, err);
    return json({ error: 'Could not record the event' }, 500);
  }
});
