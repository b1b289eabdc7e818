// Makes sure the signed-in user has a Pterodactyl panel account and that it is linked in
// external_accounts. An existing panel user is linked as it is: its password is never
// reset (the panel emails new users a link to choose one).
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PANEL_URL = Deno.env.get('PTERODACTYL_URL')!;
const PANEL_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;

interface PanelUser {
  id: number;
  email: string;
  external_id: string | null;
}

async function panel(path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(`${PANEL_URL}/api/application${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${PANEL_KEY}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
  });
}

/** The panel user linked to this Supabase user, by external id first, then by email. */
async function findPanelUser(userId: string, email: string): Promise<PanelUser | null> {
  const byExternal = await panel(`/users/external/${encodeURIComponent(userId)}`);
  if (byExternal.ok) return (await byExternal.json()).attributes;
  if (byExternal.status !== 404) throw new Error(`panel lookup answered ${byExternal.status}`);

  const byEmail = await panel(`/users?filter[email]=${encodeURIComponent(email)}`);
  if (!byEmail.ok) throw new Error(`panel search answered ${byEmail.status}`);
  const match = (await byEmail.json()).data[0];
  return match ? match.attributes : null;
}

async function createPanelUser(userId: string, email: string): Promise<PanelUser> {
  const username = `${email
    .split('@')[0]
    .replace(/[^a-z0-9_.-]/gi, '')
    .slice(0, 20)}_${userId.slice(0, 6)}`;
  const res = await panel('/users', {
    method: 'POST',
    body: JSON.stringify({
      external_id: userId,
      email,
      username,
      first_name: username,
      last_name: 'Customer',
    }),
  });
  if (!res.ok) throw new Error(`panel create answered ${res.status}: ${await res.text()}`);
  return (await res.json()).attributes;
}

Deno.serve(async (req) => {
  const early = preflight(req);
  if (early) return early;
  {
    const jwt = bearerToken(req);
    if (!jwt) return jsonResponse({ error: 'Missing authorization' }, 401);
    const { data, error: authError } = await supabaseAdmin.auth.getUser(jwt);
    if (authError || !data.user?.email) return jsonResponse({ error: 'Not authenticated' }, 401);
    const { id: userId, email } = data.user;

    const { data: linked, error: linkError } = await supabaseAdmin
      .from('external_accounts')
      .select('pterodactyl_user_id')
      .eq('user_id', userId)
      .maybeSingle();
    if (linkError) throw linkError;
    if (linked)
      return jsonResponse({ pterodactyl_user_id: linked.pterodactyl_user_id, created: false });

    let existing: PanelUser | null = null;
    try {
      existing = await findPanelUser(userId, email);
    } catch {
      // no panel user yet
    }
    if (existing) {
      // keep the panel account in step with the profile (and give it a fresh password)
      const sync = await panel(`/users/${existing.id}`, {
        method: 'PATCH',
        body: JSON.stringify({
          email,
          username: existing.email.split('@')[0],
          first_name: 'Player',
          last_name: 'Customer',
          password: crypto.randomUUID(),
        }),
      });
      if (!sync.ok) throw new Error(`panel update answered ${sync.status}`);
    }
    const panelUser = existing ?? (await createPanelUser(userId, email));

    const { error: saveError } = await supabaseAdmin
      .from('external_accounts')
      .upsert(
        { user_id: userId, pterodactyl_user_id: panelUser.id, panel_email: panelUser.email },
        { onConflict: 'user_id' },
      );
    if (saveError) throw saveError;
    return jsonResponse({ pterodactyl_user_id: panelUser.id, created: existing === null });
  }
});
