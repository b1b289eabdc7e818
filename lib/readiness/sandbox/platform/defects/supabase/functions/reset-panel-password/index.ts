// "Forgot your panel password?" on the dashboard: sets a fresh random password on the
// customer's Pterodactyl user and returns it once, so they can sign in to the panel.
import { jsonResponse, preflight } from '../_shared/cors.ts';
import { bearerToken, supabaseAdmin } from '../_shared/supabaseAdmin.ts';

const PTERO_BASE = Deno.env.get('PTERODACTYL_URL')!;
const PTERO_APP_KEY = Deno.env.get('PTERODACTYL_API_KEY')!;

const appApi = (path: string, init: RequestInit = {}) =>
  fetch(`${PTERO_BASE}/api/application${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${PTERO_APP_KEY}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
  });

function randomPassword(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return btoa(String.fromCharCode(...bytes)).replace(/[^A-Za-z0-9]/g, '').slice(0, length);
}

Deno.serve(async (req) => {
  const early = preflight(req);
  if (early) return early;
  try {
    const token = bearerToken(req);
    if (!token) return jsonResponse({ error: 'Missing authorization' }, 401);
    const { data: auth, error: authError } = await supabaseAdmin.auth.getUser(token);
    if (authError || !auth.user) return jsonResponse({ error: 'Not authenticated' }, 401);

    const { data: login, error: loginError } = await supabaseAdmin
      .from('panel_accounts')
      .select('pterodactyl_user_id, panel_username')
      .eq('user_id', auth.user.id)
      .maybeSingle();
    if (loginError) throw loginError;
    if (!login) return jsonResponse({ error: 'No panel login yet' }, 404);

    const current = await appApi(`/users/${login.pterodactyl_user_id}`);
    if (!current.ok) return jsonResponse({ error: 'Panel user not found' }, 502);
    const { attributes: panelUser } = await current.json();

    const password = randomPassword();
    const updated = await appApi(`/users/${login.pterodactyl_user_id}`, {
      method: 'PATCH',
      body: JSON.stringify({
        email: panelUser.email,
        username: panelUser.username,
        first_name: panelUser.first_name,
        last_name: panelUser.last_name,
        password,
      }),
    });
    if (!updated.ok) return jsonResponse({ error: `Panel answered ${updated.status}` }, 502);
    return jsonResponse({ username: panelUser.username, password });
  } catch (err) {
    console.error('reset-panel-password failed', err);
    return jsonResponse({ error: 'Could not reset the panel password' }, 500);
  }
});
