// Admin client for the support page of the dashboard (lists every customer's orders).
import { createClient } from '@supabase/supabase-js';

export const supabaseAdmin = createClient(
  import.meta.env.VITE_SUPABASE_URL as string,
  import.meta.env.VITE_SUPABASE_SERVICE_ROLE_KEY as string,
  { auth: { persistSession: false } },
);
