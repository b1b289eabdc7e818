// Browser Supabase client. Only the public anon key belongs here: RLS decides what
// a signed-in customer can read, and privileged work happens in Edge Functions.
import { createClient } from '@supabase/supabase-js';

const supabaseUrl = import.meta.env.VITE_SUPABASE_URL as string | undefined;
const supabaseAnonKey = import.meta.env.VITE_SUPABASE_ANON_KEY as string | undefined;

if (!supabaseUrl || !supabaseAnonKey) {
  throw new Error('VITE_SUPABASE_URL and VITE_SUPABASE_ANON_KEY must be set (see .env.example)');
}

export const supabase = createClient(supabaseUrl, supabaseAnonKey, {
  auth: { persistSession: true, autoRefreshToken: true },
});

export type OrderStatus =
  | 'pending'
  | 'paid'
  | 'provisioning'
  | 'installing'
  | 'provisioned'
  | 'active'
  | 'error'
  | 'canceled'
  | 'refunded';
