"""Areas 4/7/9 code rules on differently written snippets, plus the secret scanner."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import textwrap
from pathlib import Path

import pandas as pd

from readiness.sources.codebase import collect_codebase
from readiness.static.rules.quality import sql_placeholders
from readiness.static.secret_scan.scan import classify_secret, scan_secrets

FN = "supabase/functions"


def run(root: Path, files: dict[str, str]) -> dict[str, pd.DataFrame]:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return collect_codebase(root).tables


def facts(tables: dict[str, pd.DataFrame], fact: str, path_part: str = "") -> pd.DataFrame:
    df = tables["code_auth_facts"]
    return df[(df["fact"] == fact) & df["path"].str.contains(path_part, regex=False)]


def fake_jwt(role: str) -> str:
    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    head = part({"alg": "HS256", "typ": "JWT"})
    body = part({"iss": "supabase", "role": role, "note": "FAKE"})
    sig = hmac.new(b"dummy", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_caller_checks_in_three_handler_styles(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/a/index.ts": """
            Deno.serve(async (req) => {
              const { data } = await supabase.auth.getUser(req.headers.get('Authorization')!);
              return new Response(data.user?.id);
            });
        """,
            f"{FN}/b/index.ts": """
            import { jwtVerify } from "npm:jose";
            export default {
              async fetch(request: Request) {
                const { payload } = await jwtVerify(token, key);
                return new Response(String(payload.sub));
              },
            };
        """,
            f"{FN}/c/index.ts": """
            serve(async function handler(req) {
              const event = stripe.webhooks.constructEvent(await req.text(), sig, secret);
              return new Response("ok");
            });
        """,
        },
    )
    kinds = dict(
        zip(facts(t, "caller_check")["path"], facts(t, "caller_check")["kind"], strict=True)
    )
    assert kinds == {
        f"{FN}/a/index.ts": "get_user",
        f"{FN}/b/index.ts": "jwt_verify",
        f"{FN}/c/index.ts": "signature",
    }


def test_internal_checks_exact_guarded_unguarded_loose_truthy(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/guarded/index.ts": """
            const KEY = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!;
            Deno.serve((req) => {
              const token = bearer(req);
              const internal = KEY.length > 0 && token === KEY;
              return new Response(String(internal));
            });
        """,
            f"{FN}/early/index.ts": """
            const SECRET = Deno.env.get("INTERNAL_SECRET");
            if (!SECRET) throw new Error("INTERNAL_SECRET is not set");
            export default { fetch: (request) => new Response(String(
              request.headers.get("x-secret") === SECRET)) };
        """,
            f"{FN}/unguarded/index.ts": """
            Deno.serve(async (req) => {
              if (req.headers.get("x-key") == Deno.env.get("CRON_TOKEN")) return new Response("");
              return new Response("no", { status: 401 });
            });
        """,
            f"{FN}/includes/index.ts": """
            Deno.serve(async (req) => {
              const auth = req.headers.get('Authorization') ?? '';
              const ok = auth.includes(Deno.env.get('CRON_SECRET') ?? '');
              return new Response(String(ok));
            });
        """,
            f"{FN}/literal/index.ts": """
            serve(async (req) => {
              const h = req.headers.get("Authorization");
              const isServiceRole = h?.startsWith(`Bearer service_role`);
              return new Response(String(isServiceRole));
            });
        """,
            f"{FN}/truthy/index.ts": """
            Deno.serve(async (req) => {
              const isInternal = !!req.headers.get('x-internal-call');
              return new Response(String(isInternal));
            });
        """,
        },
    )
    rows = facts(t, "internal_check")
    got = {
        p.split("/")[2]: (k, s)
        for p, k, s in zip(rows["path"], rows["kind"], rows["strict"], strict=True)
    }
    assert got["guarded"] == ("exact", True)
    assert got["early"] == ("exact", True)
    assert got["unguarded"] == ("exact", False)
    assert got["includes"] == ("loose_empty", False)  # reported by CONFIG-ENV-FALLBACK
    assert got["literal"] == ("loose", False)
    assert got["truthy"] == ("truthy", False)


def test_ownership_lookup_and_body_identity(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/own/index.ts": """
            Deno.serve(async (req) => {
              const { order_id } = await req.json();
              const { data: order } = await db.from('orders').select().eq('id', order_id);
              if (order.user_id !== user.id) return new Response('', { status: 404 });
            });
        """,
            f"{FN}/filter/index.ts": """
            export default { async fetch(request: Request) {
              const body = await request.json();
              await db.from("servers").select()
                .eq("id", body.server_id).eq("owner_id", caller.id);
            } };
        """,
            f"{FN}/trust/index.ts": """
            Deno.serve(async (req) => {
              const { user_id, email } = await req.json();
              const raw = JSON.parse(await req.text());
              await db.from('orders').select('*').eq('user_id', user_id).eq('id', raw.order_id);
              return new Response(raw.email);
            });
        """,
        },
    )
    owners = facts(t, "ownership_check")
    assert set(zip(owners["path"].str.split("/").str[2], owners["kind"], strict=True)) == {
        ("own", "compare"),
        ("own", "session"),  # order.user_id !== user.id: the session's user
        ("filter", "filter"),
        ("filter", "session"),
    }
    lookups = facts(t, "resource_lookup")
    assert set(zip(lookups["path"].str.split("/").str[2], lookups["detail"], strict=True)) == {
        ("own", "orders"),
        ("filter", "servers"),
        ("trust", "orders"),
    }
    ident = facts(t, "body_identity")
    assert set(ident["detail"]) == {"user_id", "email"}
    assert set(ident["path"].str.split("/").str[2]) == {"trust"}


def test_privileged_ops_and_cors_styles(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/_shared/cors.ts": """
            export const corsHeaders = { "Access-Control-Allow-Origin": "*" };
        """,
            f"{FN}/a/index.ts": """
            import { corsHeaders } from "../_shared/cors.ts";
            Deno.serve(async (req) => {
              await fetch(`${URL}/api/application/servers/${id}`, { method: 'DELETE' });
              return new Response("", { headers: { ...corsHeaders } });
            });
        """,
            f"{FN}/b/index.ts": """
            export default { async fetch(req) {
              const h = new Headers();
              h.set('access-control-allow-origin', req.headers.get('origin') ?? '');
              await fetch(base + '/api/client/servers/' + id + '/power', { method: 'POST' });
              await admin.auth.admin.updateUserById(id, { password: next });
              return new Response('', { headers: h });
            } };
        """,
        },
    )
    ops = facts(t, "privileged_op")
    assert set(zip(ops["path"].str.split("/").str[2], ops["kind"], strict=True)) >= {
        ("a", "panel_application_api"),
        ("b", "server_control"),
        ("b", "auth_admin"),
        ("b", "credential_write"),
    }
    cors = facts(t, "cors_origin")
    assert set(zip(cors["path"].str.split("/").str[2], cors["kind"], strict=True)) == {
        ("_shared", "wildcard"),
        ("b", "reflect"),
    }
    closure = t["code_function_files"]
    assert f"{FN}/_shared/cors.ts" in set(closure[closure["function_slug"] == "a"]["path"])


def test_quality_rules_on_varied_snippets(tmp_path: Path) -> None:
    body = (
        "const r = await fetch(u, { headers: { a: '1' } }); if (!r.ok) throw new Error(u);"
        " return await r.json();"
    )
    t = run(
        tmp_path,
        {
            f"{FN}/q/index.ts": f"""
            // TODO: retry on 429
            /* FIXME remove */
            const KEY = 'REPLACE_ME';
            async function load(u: string): Promise<any> {{ {body} }}
            const unused = (x: any, y: any): any => x;
            Deno.serve(async (req) => {{
              try {{ await load(req.url); }} catch (err) {{ console.error(err); }}
              for (const item of [1]) console.log(item);
              return new Response(missingHelper(KEY));
            }});
        """,
            "src/App.tsx": f"""
            import {{ useState }} from 'react';
            const copy = async (u: string) => {{ {body} }};
            class Box {{}}
            export function App() {{
              const [n] = useState(0);
              return <div className="x">{{n}}{{String(new Box())}}{{copy.name}}{{notDefined}}</div>;
            }}
        """,
        },
    )
    ph = t["code_placeholders"]
    expected = {(1, "todo"), (2, "todo"), (3, "placeholder")}
    assert set(zip(ph["line"], ph["kind"], strict=True)) == expected
    undef = t["code_undefined_identifiers"]
    assert set(undef["name"]) == {"missingHelper", "notDefined"}
    defs = t["code_function_defs"].set_index("name")
    assert defs.loc["load", "body_hash"] == defs.loc["copy", "body_hash"]
    assert not defs.loc["unused", "referenced"] and defs.loc["load", "referenced"]
    assert bool(defs.loc["App", "exported"])
    anys = t["code_any_types"].set_index("path")
    assert anys.loc[f"{FN}/q/index.ts", "any_count"] == 4
    sql = sql_placeholders("m.sql", "insert into plans values ('price_REPLACE_ME'); -- TODO fix\n")
    assert {r["kind"] for r in sql} == {"placeholder", "todo"}


def test_secret_scanner_accepts_real_lengths_and_short_fakes(tmp_path: Path) -> None:
    live = "sk_" + "live_" + "A1b2C3d4" * 3  # 24 chars, like a real key (built, never committed)
    restricted = "rk_" + "live_" + "Z9" * 50
    client = "ptl" + "c_" + "Qr7" * 16  # a body of one repeated character is a placeholder
    files = {
        "scripts/a.sh": f"export K={live}\nR='{restricted}'\n",
        "docs/b.md": "token `ptla_FAKEdemo0000KEY0000000` and " + client + "\n",
        "src/c.ts": f"const anon = '{fake_jwt('anon')}';\n"
        f'const admin = "{fake_jwt("service_role")}";\n',
        "src/d.ts": "const pk = 'pk_live_abcdefghijklmnopqrstuvwx'; const h = 'deadbeef' ;\n",
        "e.env": "STRIPE_WEBHOOK_SECRET=whsec_FAKEdemo0000\nSHORT=sk_test_abc\n",
    }
    for rel, body in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body)
    rows, unscanned = scan_secrets(tmp_path, [{"path": p, "kind": "x"} for p in files])
    assert unscanned == []
    got = {(r["path"], r["kind"], r["is_live"], r["role"]) for r in rows}
    assert got == {
        ("scripts/a.sh", "stripe-secret-key", True, None),
        ("scripts/a.sh", "stripe-restricted-key", True, None),
        ("docs/b.md", "pterodactyl-application-key", None, None),
        ("docs/b.md", "pterodactyl-client-key", None, None),
        ("src/c.ts", "supabase-jwt", None, "anon"),
        ("src/c.ts", "supabase-jwt", None, "service_role"),
        ("e.env", "stripe-webhook-secret", None, None),
    }
    flat = json.dumps(rows)
    assert live not in flat and client not in flat and "FAKEdemo" not in flat
    assert classify_secret("sk_test_x" * 3, "")[1] is False
