// Builds the servers customers queued from the dashboard ("Reserve now, build when paid").
// The dashboard calls it after the customer's queued request shows as paid.
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PTERO_BASE = Deno.env.get('PTERODACTYL_URL')!;
const PTERO_APP_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;

// What the panel needs per game: the same table as servers-provision, kept in step by hand.
// prettier-ignore
const GAME_SPECS: Record<string, { egg_id: number; docker_image: string; startup: string; environment: Record<string, string> }> = {
  minecraft: { egg_id: 39, docker_image: 'ghcr.io/pterodactyl/yolks:java_21', startup: 'java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}', environment: { SERVER_JARFILE: 'server.jar', MINECRAFT_VERSION: 'latest', BUILD_NUMBER: 'latest' } },
  rust: { egg_id: 51, docker_image: 'ghcr.io/pterodactyl/games:rust', startup: './RustDedicated -batchmode +server.port {{SERVER_PORT}}', environment: { HOSTNAME: 'A Rust Server', LEVEL: 'Procedural Map', WORLD_SIZE: '3000', MAX_PLAYERS: '50', RCON_PORT: '28016' } },
  palworld: { egg_id: 15, docker_image: 'ghcr.io/parkervcp/steamcmd:debian', startup: './PalServer.sh -port={{SERVER_PORT}}', environment: { SRCDS_APPID: '2394010', MAX_PLAYERS: '16', SERVER_NAME: 'Palworld Server' } },
  ark: { egg_id: 14, docker_image: 'ghcr.io/parkervcp/steamcmd:debian', startup: './ShooterGameServer {{SERVER_MAP}}?listen?Port={{SERVER_PORT}}', environment: { SRCDS_APPID: '376030', SERVER_MAP: 'TheIsland', SESSION_NAME: 'ARK Server' } },
  terraria: { egg_id: 16, docker_image: 'ghcr.io/parkervcp/yolks:ubuntu', startup: './TerrariaServer.bin.x86_64 -port {{SERVER_PORT}}', environment: { WORLD_NAME: 'world', WORLD_SIZE: '2', MAX_PLAYERS: '8', VERSION: 'latest' } },
  factorio: { egg_id: 21, docker_image: 'ghcr.io/parkervcp/yolks:debian', startup: './bin/x64/factorio --port {{SERVER_PORT}} --start-server {{SAVE_NAME}}.zip', environment: { FACTORIO_VERSION: 'latest', MAX_SLOTS: '20' } },
  mindustry: { egg_id: 29, docker_image: 'ghcr.io/parkervcp/yolks:java_17', startup: 'java -Xms128M -jar server.jar', environment: { VERSION: 'latest' } },
  rimworld: { egg_id: 26, docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: './Server', environment: { VERSION: 'latest' } },
  vintage_story: { egg_id: 32, docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: 'dotnet VintagestoryServer.dll --port {{SERVER_PORT}}', environment: { VERSION: 'latest', SERVER_NAME: 'Vintage Story Server' } },
  teeworlds: { egg_id: 33, docker_image: 'ghcr.io/parkervcp/yolks:debian', startup: './teeworlds_srv', environment: { SERVER_NAME: 'Teeworlds Server', MAX_PLAYERS: '16' } },
  among_us: { egg_id: 34, docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: './Impostor.Server', environment: { VERSION: 'latest' } },
};

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
    .select('id, server_name, status, plan_id, plans(game, ram_gb)')
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
    const spec = GAME_SPECS[queued.plans.game];
    if (!spec) return jsonResponse({ error: 'Game not supported' }, 422);
    const memory = queued.plans.ram_gb * 1024;
    const created = await pterodactyl('/servers', {
      method: 'POST',
      body: JSON.stringify({
        name: queued.server_name,
        external_id: `request-${queued.id}`,
        user: link.pterodactyl_user_id,
        egg: spec.egg_id,
        docker_image: spec.docker_image,
        startup: spec.startup,
        environment: spec.environment,
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
