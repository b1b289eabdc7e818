// CORS for browser-facing functions. Only the site's own origin is allowed: the
// functions act with the service role, so a wildcard origin would let any page
// drive them with a visitor's session.
const siteUrl = Deno.env.get('SITE_URL');

if (!siteUrl) {
  console.error('SITE_URL is not set: cross-origin requests will be refused');
}

export const corsHeaders: Record<string, string> = {
  'Access-Control-Allow-Headers': 'authorization, x-client-info, apikey, content-type',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  Vary: 'Origin',
  ...(siteUrl ? { 'Access-Control-Allow-Origin': new URL(siteUrl).origin } : {}),
};

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, 'Content-Type': 'application/json' },
  });
}

export function preflight(req: Request): Response | null {
  return req.method === 'OPTIONS'
    ? new Response(null, { status: 204, headers: corsHeaders })
    : null;
}
