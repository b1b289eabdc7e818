// Checkout from the browser: ask the create-checkout-session function for a Stripe
// Checkout URL and go there. The browser names a plan; the price is chosen server-side.
import { supabase } from '../lib/supabase';

export interface CheckoutRequest {
  plan_id: string;
  region: string;
  server_name: string;
}

interface CheckoutResponse {
  url?: string;
  session_id?: string;
  error?: string;
}

const CHECKOUT_HOST = 'checkout.stripe.com';

export async function createCheckoutSession(request: CheckoutRequest): Promise<string> {
  const { data, error } = await supabase.functions.invoke<CheckoutResponse>(
    'create-checkout-session',
    {
      body: { plan_id: request.plan_id, region: request.region, server_name: request.server_name },
    },
  );
  if (error) {
    const detail = await error.context?.json?.().catch(() => null);
    throw new Error(detail?.error ?? 'Could not start checkout, please try again');
  }
  if (!data?.url) throw new Error(data?.error ?? 'Checkout did not return a payment page');

  const url = new URL(data.url);
  if (url.protocol !== 'https:' || url.hostname !== CHECKOUT_HOST) {
    throw new Error('Unexpected checkout address; payment was not started');
  }
  return url.toString();
}

export async function redirectToCheckout(request: CheckoutRequest): Promise<void> {
  const url = await createCheckoutSession(request);
  window.location.assign(url);
}
