// Support tool: move a game server to another customer's panel account.
// Deployed with verify_jwt = false so the support spreadsheet script can call it.
import { serve } from 'https://deno.land/std@0.177.0/http/server.ts';
import { supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PANEL_URL = Deno.env.get('PANEL_URL') || 'http://localhost:8080';
const PANEL_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;
const SUPPORT_EMAIL = 'REPLACE_ME@example.com';

function panel(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${PANEL_URL}${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${PANEL_KEY}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
  });
}

function describeOwner(owner: any): string {
  return `${owner.email} (${owner.id})`;
}

serve(async function handler(request) {
  const body: any = await request.json();
  const { server_id, user_id, email } = body;
  const { data: account, error }: any = await supabaseAdmin
    .from('external_accounts')
    .select('pterodactyl_user_id')
    .eq('user_id', user_id)
    .single();
  if (error || !account) {
    return new Response(JSON.stringify({ error: `No panel account for ${email}` }), { status: 404 });
  }
  const details: any = await (await panel(`/api/application/servers/${server_id}`)).json();
  const res = await panel(`/api/application/servers/${server_id}/details`, {
    method: 'PATCH',
    body: JSON.stringify({
      name: details.attributes.name,
      user: account.pterodactyl_user_id,
      description: `Reassigned by ${SUPPORT_EMAIL}`,
    }),
  });
  const result: any = await res.json();
  return new Response(JSON.stringify({ ok: res.ok, server: result.attributes?.id }), {
    status: res.ok ? 200 : 502,
    headers: { 'Content-Type': 'application/json' },
  });
});
