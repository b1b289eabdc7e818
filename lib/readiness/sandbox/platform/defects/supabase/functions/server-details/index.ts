// Name, limits and node of a customer's game server for the dashboard's server page,
// read from the panel. verify_jwt stays on, so "only signed-in visitors reach it".
import { supabaseAdmin } from '../_shared/supabaseAdmin.ts';
import { jsonResponse, preflight } from '../_shared/cors.ts';

const PANEL_URL = Deno.env.get('PTERODACTYL_URL')!;
const PANEL_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;

Deno.serve(async (req: Request) => {
  const early = preflight(req);
  if (early) return early;
  try {
    const { order_id } = await req.json();
    const { data: order, error } = await supabaseAdmin
      .from('orders')
      .select('id, pterodactyl_server_id')
      .eq('id', order_id)
      .single();
    if (error || !order) return jsonResponse({ error: 'Order not found' }, 404);
    const res = await fetch(`${PANEL_URL}/api/application/servers/${order.pterodactyl_server_id}`, {
      headers: { Authorization: `Bearer ${PANEL_KEY}`, Accept: 'application/json' },
    });
    if (!res.ok) return jsonResponse({ error: `panel answered ${res.status}` }, 502);
    const { attributes } = await res.json();
    return jsonResponse({ name: attributes.name, limits: attributes.limits, node: attributes.node });
  } catch (err) {
    console.error('server-details failed', err);
    return jsonResponse({ error: 'Could not load the server' }, 500);
  }
});
