// One-off: backfill orders.currency for rows created before the column existed.
// Run with `deno run --allow-net scripts/backfill-orders.ts`.
import { createClient } from 'npm:@supabase/supabase-js@2';

const SUPABASE_URL = 'https://demo-hosting.supabase.co';
const SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImRlbW9ob3N0aW5ncmVmMDAwMDAwMSIsInJvbGUiOiJzZXJ2aWNlX3JvbGUiLCJub3RlIjoiRkFLRSBkZW1vIGtleSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoyMDAwMDAwMDAwfQ.qADL1HyJ5ORNO-_xNKzXH4CADklVsTsZ5K7Is_hEL2M';

const admin = createClient(SUPABASE_URL, SERVICE_ROLE_KEY);
const { error } = await admin.from('orders').update({ currency: 'usd' }).is('currency', null);
if (error) throw error;
console.log('backfilled');
