// Builds the servers customers queued from the dashboard ("Reserve now, build when paid").
// The dashboard calls it after the customer's queued request shows as paid.
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PTERO_BASE = Deno.env.get('PTERODACTYL_URL')!;
const PTERO_APP_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;

async function pterodactyl(path: string, init: RequestInit = {}) {
  const res = await fetch(PTERO_BASE + '/api/application' + path, {
    ...init,
    headers: {
      Authorization: `Bearer ${PTERO_APP_KEY}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
  });
  if (!res.ok) throw new Error(`panel ${path} answered ${res.status}`);
  return await res.json();
}

Deno.serve(async (req) => {
  const early = preflight(req);
  if (early) return early;
  const token = bearerToken(req);
  if (!token) return jsonResponse({ error: 'Missing authorization' }, 401);
  const { data: who, error: whoError } = await supabaseAdmin.auth.getUser(token);
  if (whoError || !who.user) return jsonResponse({ error: 'Not authenticated' }, 401);

  const { request_id } = await req.json();
  const { data: queued, error: queueError } = await supabaseAdmin
    .from('server_requests')
    .select('id, server_name, status, plan_id, plans(egg_id, ram_gb)')
    .eq('id', request_id)
    .eq('user_id', who.user.id)
    .eq('status', 'paid')
    .maybeSingle();
  if (queueError) return jsonResponse({ error: 'Could not read the queue' }, 500);
  if (!queued) return jsonResponse({ error: 'Nothing paid to build' }, 404);

  const { data: link, error: linkError } = await supabaseAdmin
    .from('external_accounts')
    .select('pterodactyl_user_id')
    .eq('user_id', who.user.id)
    .maybeSingle();
  if (linkError || !link) return jsonResponse({ error: 'No panel account' }, 409);

  try {
    const egg = await pterodactyl(`/nests/1/eggs/${queued.plans.egg_id}?include=variables`);
    const variables = Object.fromEntries(
      egg.attributes.relationships.variables.data.map(
        (v: { attributes: { env_variable: string; default_value: string } }) => [
          v.attributes.env_variable,
          v.attributes.default_value,
        ],
      ),
    );
    const memory = queued.plans.ram_gb * 1024;
    const created = await pterodactyl('/servers', {
      method: 'POST',
      body: JSON.stringify({
        name: queued.server_name,
        external_id: `request-${queued.id}`,
        user: link.pterodactyl_user_id,
        egg: queued.plans.egg_id,
        docker_image: egg.attributes.docker_image,
        startup: egg.attributes.startup,
        environment: variables,
        limits: { memory, swap: 0, disk: memory * 5, io: 500, cpu: 0 },
        feature_limits: { databases: 1, allocations: 1, backups: 2 },
        deploy: { locations: [1], dedicated_ip: false, port_range: [] },
      }),
    });
    const { error: doneError } = await supabaseAdmin
      .from('server_requests')
      .update({ status: 'built' })
      .eq('id', queued.id);
    if (doneError) throw doneError;
    return jsonResponse({ server_id: created.attributes.id });
  } catch (err) {
    console.error('build-queued-server failed', err);
    const { error: markError } = await supabaseAdmin
      .from('server_requests')
      .update({ status: 'error' })
      .eq('id', queued.id);
    if (markError) console.error('could not mark the request failed', markError);
    return jsonResponse({ error: 'Build failed' }, 502);
  }
});
