// Builds the game server for a paid order on a node with room in the order's region.
// Called by stripe-webhook with the service-role key, or by the order's owner to retry.
// Once the order is claimed, every path ends with status 'provisioned' or 'error'.
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PANEL_URL = Deno.env.get('PTERODACTYL_URL')!;
const PANEL_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;
const SERVICE_ROLE_KEY = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!;
// Servers go to the panel's owner account; customers reach them through the dashboard.
const SERVER_OWNER = 1;

// Pterodactyl egg per game; must match the panel's eggs.
// prettier-ignore
const EGG_IDS: Record<string, number> = {
  minecraft: 39, rust: 51, palworld: 15, ark: 14, terraria: 16, factorio: 21,
  mindustry: 29, rimworld: 26, vintage_story: 32, teeworlds: 33, among_us: 34,
};

interface Runtime {
  docker_image: string;
  startup: string;
  environment: Record<string, string>;
}
// Docker image, startup command and egg variables per game (one row per game).
// prettier-ignore
const RUNTIMES: Record<string, Runtime> = {
  minecraft: { docker_image: 'ghcr.io/pterodactyl/yolks:java_21', startup: 'java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}', environment: { SERVER_JARFILE: 'server.jar', MINECRAFT_VERSION: 'latest', BUILD_NUMBER: 'latest' } },
  rust: { docker_image: 'ghcr.io/pterodactyl/games:rust', startup: './RustDedicated -batchmode +server.port {{SERVER_PORT}}', environment: { HOSTNAME: 'A Rust Server', LEVEL: 'Procedural Map', WORLD_SIZE: '3000', MAX_PLAYERS: '50', RCON_PORT: '28016' } },
  palworld: { docker_image: 'ghcr.io/parkervcp/steamcmd:debian', startup: './PalServer.sh -port={{SERVER_PORT}}', environment: { SRCDS_APPID: '2394010', MAX_PLAYERS: '16', SERVER_NAME: 'Palworld Server' } },
  ark: { docker_image: 'ghcr.io/parkervcp/steamcmd:debian', startup: './ShooterGameServer {{SERVER_MAP}}?listen?Port={{SERVER_PORT}}', environment: { SRCDS_APPID: '376030', SERVER_MAP: 'TheIsland', SESSION_NAME: 'ARK Server' } },
  terraria: { docker_image: 'ghcr.io/parkervcp/yolks:ubuntu', startup: './TerrariaServer.bin.x86_64 -port {{SERVER_PORT}}', environment: { WORLD_NAME: 'world', WORLD_SIZE: '2', MAX_PLAYERS: '8', VERSION: 'latest' } },
  factorio: { docker_image: 'ghcr.io/parkervcp/yolks:debian', startup: './bin/x64/factorio --port {{SERVER_PORT}} --start-server {{SAVE_NAME}}.zip', environment: { FACTORIO_VERSION: 'latest', MAX_SLOTS: '20' } },
  mindustry: { docker_image: 'ghcr.io/parkervcp/yolks:java_17', startup: 'java -Xms128M -jar server.jar', environment: { VERSION: 'latest' } },
  rimworld: { docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: './Server', environment: { VERSION: 'latest' } },
  vintage_story: { docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: 'dotnet VintagestoryServer.dll --port {{SERVER_PORT}}', environment: { VERSION: 'latest', SERVER_NAME: 'Vintage Story Server' } },
  teeworlds: { docker_image: 'ghcr.io/parkervcp/yolks:debian', startup: './teeworlds_srv', environment: { SERVER_NAME: 'Teeworlds Server', MAX_PLAYERS: '16' } },
  among_us: { docker_image: 'ghcr.io/parkervcp/yolks:dotnet_8', startup: './Impostor.Server', environment: { VERSION: 'latest' } },
};

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

async function markError(orderId: string, message: string): Promise<void> {
  const { error } = await supabaseAdmin
    .from('orders')
    .update({ status: 'error', error_message: message.slice(0, 500) })
    .eq('id', orderId);
  if (error) console.error(`could not mark order ${orderId} as error`, error);
}

/** First enabled node in the region whose committed RAM leaves room for this plan. */
async function pickNode(region: string, ramGb: number) {
  const { data: nodes, error } = await supabaseAdmin
    .from('ptero_nodes')
    .select('id, panel_node_id, max_ram_gb, reserved_headroom_gb')
    .eq('region', region)
    .eq('enabled', true)
    .order('id');
  if (error) throw error;
  const { data: active, error: usageError } = await supabaseAdmin
    .from('orders')
    .select('node_id, plans(ram_gb)')
    .in('status', ['paid', 'provisioning', 'active', 'provisioned'])
    .not('node_id', 'is', null);
  if (usageError) throw usageError;
  const used = new Map<number, number>();
  for (const row of active ?? [])
    used.set(row.node_id, (used.get(row.node_id) ?? 0) + (row.plans?.ram_gb ?? 0));
  return (
    (nodes ?? []).find(
      (n) => (used.get(n.id) ?? 0) + ramGb <= n.max_ram_gb - n.reserved_headroom_gb,
    ) ?? null
  );
}

Deno.serve(async (req) => {
  const early = preflight(req);
  if (early) return early;
  let orderId: string | null = null;
  try {
    const token = bearerToken(req);
    if (!token) return jsonResponse({ error: 'Missing authorization' }, 401);
    const isInternal = SERVICE_ROLE_KEY.length > 0 && token === SERVICE_ROLE_KEY;
    let callerId: string | null = null;
    if (!isInternal) {
      const { data, error } = await supabaseAdmin.auth.getUser(token);
      if (error || !data.user) return jsonResponse({ error: 'Not authenticated' }, 401);
      callerId = data.user.id;
    }

    const { order_id } = await req.json();
    if (typeof order_id !== 'string') return jsonResponse({ error: 'order_id is required' }, 400);
    const { data: order, error: orderError } = await supabaseAdmin
      .from('orders')
      .select('id, user_id, region, server_name, status, plans(game, ram_gb)')
      .eq('id', order_id)
      .maybeSingle();
    if (orderError) throw orderError;
    if (!order || (!isInternal && order.user_id !== callerId))
      return jsonResponse({ error: 'Order not found' }, 404);

    // Claim the order: only one caller moves it from 'paid' to 'provisioning'.
    const { data: claimed, error: claimError } = await supabaseAdmin
      .from('orders')
      .update({ status: 'provisioning', error_message: null })
      .eq('id', order.id)
      .in('status', ['paid', 'error'])
      .select('id');
    if (claimError) throw claimError;
    if (!claimed?.length) return jsonResponse({ error: `Order is already ${order.status}` }, 409);
    orderId = order.id;

    const game = order.plans?.game ?? '';
    const eggId = EGG_IDS[game];
    const runtime = RUNTIMES[game];
    if (!eggId || !runtime) {
      await markError(order.id, `No egg configured for game "${game}"`);
      return jsonResponse({ error: 'Game not supported' }, 422);
    }

    const node = await pickNode(order.region, order.plans.ram_gb);
    if (!node) {
      await markError(order.id, `No capacity left in ${order.region}`);
      return jsonResponse({ error: 'No capacity in this region' }, 503);
    }

    const { data: account, error: accountError } = await supabaseAdmin
      .from('external_accounts')
      .select('pterodactyl_user_id')
      .eq('user_id', order.user_id)
      .maybeSingle();
    if (accountError) throw accountError;
    if (!account?.pterodactyl_user_id) {
      await markError(order.id, 'Customer has no panel account');
      return jsonResponse({ error: 'No panel account' }, 409);
    }

    const allocations = await panel(
      `/api/application/nodes/${node.panel_node_id}/allocations?per_page=100`,
    );
    if (!allocations.ok) throw new Error(`panel allocations answered ${allocations.status}`);
    const free = (await allocations.json()).data.find(
      (a: { attributes: { assigned: boolean } }) => !a.attributes.assigned,
    );
    if (!free) return jsonResponse({ error: 'No free port' }, 503);

    const ramMb = order.plans.ram_gb * 1024;
    const res = await panel('/api/application/servers', {
      method: 'POST',
      body: JSON.stringify({
        name: order.server_name ?? `${game}-${order.id.slice(0, 8)}`,
        external_id: order.id,
        user: SERVER_OWNER,
        egg: eggId,
        docker_image: runtime.docker_image,
        startup: runtime.startup,
        environment: runtime.environment,
        limits: { memory: ramMb, swap: 0, disk: ramMb * 5, io: 500, cpu: 0 },
        feature_limits: { databases: 1, allocations: 1, backups: 2 },
        allocation: { default: free.attributes.id },
      }),
    });
    if (!res.ok) {
      await markError(
        order.id,
        `Panel answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
      );
      return jsonResponse({ error: 'Panel rejected the server' }, 502);
    }
    const server = (await res.json()).attributes;

    const { error: doneError } = await supabaseAdmin
      .from('orders')
      .update({
        status: 'provisioned',
        pterodactyl_server_id: server.id,
        node_id: node.id,
        error_message: null,
      })
      .eq('id', order.id);
    if (doneError) throw doneError;
    return jsonResponse({ order_id: order.id, server_id: server.id, node_id: node.id });
  } catch (err) {
    console.error('servers-provision failed', err);
    return jsonResponse({ error: 'Provisioning failed' }, 500);
  }
});
