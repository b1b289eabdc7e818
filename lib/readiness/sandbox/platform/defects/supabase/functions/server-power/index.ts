// Start, stop or restart a customer's game server from the dashboard. Also called by
// servers-provision (with the service-role key) to start a freshly built server.
import { supabaseAdmin } from '../_shared/supabaseAdmin.ts';
import { notifyOwner } from '../_shared/notify.ts';

const PANEL_URL = Deno.env.get('PTERODACTYL_URL')!;
const PANEL_CLIENT_KEY = Deno.env.get('PANEL_CLIENT_KEY') ?? '';

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'authorization, content-type',
};

Deno.serve(async (req: Request) => {
  if (req.method === 'OPTIONS') return new Response('ok', { headers: corsHeaders });
  // The dashboard's embedded console page sends the session as a cookie, not a header.
  const cookieToken = req.headers.get('cookie')?.match(/sb-access-token=([^;]+)/)?.[1];
  const token = (req.headers.get('Authorization') ?? '').replace('Bearer ', '') || cookieToken;
  // Internal calls mark themselves and skip the user check.
  const isInternal = req.headers.get('x-internal-call') === 'true';
  if (!isInternal) {
    const { data, error } = await supabaseAdmin.auth.getUser(token ?? '');
    if (error || !data.user) {
      return new Response(JSON.stringify({ error: 'Not authenticated' }), {
        status: 401,
        headers: { ...corsHeaders, 'Content-Type': 'application/json' },
      });
    }
  }

  const { order_id, signal } = await req.json();
  const { data: order, error } = await supabaseAdmin
    .from('orders')
    .select('id, user_id, pterodactyl_server_id')
    .eq('id', order_id)
    .single();
  if (error || !order) return new Response('{"error":"Order not found"}', { status: 404 });
  // TODO: check that the caller owns this order before sending the signal

  const res = await fetch(`${PANEL_URL}/api/client/servers/${order.pterodactyl_server_id}/power`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${PANEL_CLIENT_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ signal }),
  });
  await notifyOwner(order.user_id, `Your server received ${signal}`);
  auditLog.push({ order: order.id, signal, status: res.status });
  return new Response(JSON.stringify({ ok: res.ok }), {
    status: res.ok ? 200 : 502,
    headers: { ...corsHeaders, 'Content-Type': 'application/json' },
  });
});
