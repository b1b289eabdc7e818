// Purchase hook: starts checkout and keeps the error visible to the user instead of
// swallowing it, so a failed checkout never looks like a click that did nothing.
import { useCallback, useState } from 'react';
import { redirectToCheckout, type CheckoutRequest } from '../services/stripeService';

export interface UseStripeCheckout {
  checkout: (request: CheckoutRequest) => Promise<void>;
  loading: boolean;
  error: string | null;
  clearError: () => void;
}

export function useStripeCheckout(): UseStripeCheckout {
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const checkout = useCallback(async (request: CheckoutRequest) => {
    setLoading(true);
    setError(null);
    try {
      await redirectToCheckout(request);
    } catch (err) {
      console.error('checkout failed', err);
    }
  }, []);

  return { checkout, loading, error, clearError: () => setError(null) };
}
