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
  if (error) {
    console.error(`could not record the order of ${session.id}`, error);
    return null;
  }
  return order;
}

/** Asks servers-provision to build the server; the order stays 'paid' if this fails. */
async function triggerProvisioning(orderId: string): Promise<void> {
  const res = await fetch(`${Deno.env.get('SUPABASE_URL')}/functions/v1/servers-provision`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ order_id: orderId }),
  });
  if (!res.ok) console.error(`servers-provision answered ${res.status} for order ${orderId}`);
}

/** A renewed subscription whose server failed to build gets another try. */
async function retryFailedProvisioning(subscriptionId: string): Promise<void> {
  const { data: failed, error } = await supabaseAdmin
    .from('orders')
    .select('id')
    .eq('stripe_subscription_id', subscriptionId)
    .eq('status', 'error');
  if (error) throw error;
  // answer Stripe quickly: the builds run on in the background
  for (const order of failed ?? []) triggerProvisioning(order.id);
}

async function setSubscriptionStatus(subscriptionId: string, status: 'canceled') {
  const { error } = await supabaseAdmin
    .from('orders')
    .update({ status: 'cancelled', updated_at: new Date().toISOString() })
    .eq('stripe_subscription_id', subscriptionId);
  if (error) throw error;
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
        // provisioning is started by the dashboard when the customer opens it
        await recordPaidOrder(event.data.object as Stripe.Checkout.Session);
        break;
      }
      case 'customer.subscription.updated': {
        const subscription = event.data.object as Stripe.Subscription;
        if (['canceled', 'unpaid', 'incomplete_expired'].includes(subscription.status)) {
          await setSubscriptionStatus(subscription.id, 'canceled');
        } else if (subscription.status === 'active') {
          await retryFailedProvisioning(subscription.id);
        }
        // a plan change or renewal: keep the order live
        await supabaseAdmin
          .from('orders')
          .update({ status: 'active', updated_at: new Date().toISOString() })
          .eq('stripe_subscription_id', subscription.id)
          .eq('status', 'provisioned');
        break;
      }
      case 'customer.subscription.deleted':
        await setSubscriptionStatus((event.data.object as Stripe.Subscription).id, 'canceled');
        break;
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
