// Stripe.js for the pricing page.
import { loadStripe } from '@stripe/stripe-js';

export const stripePromise = loadStripe('pk_test_51DemoHostingNotARealKey0000000000');
