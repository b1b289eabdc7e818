# ruff: noqa: E501  (code snippets and table rows read best on one line)
"""Per-rule unit tests of the Area 4–8 fact rules, each on differently written snippets."""

from __future__ import annotations

import json

import pytest

from readiness.static.rules import errors, frontend, status
from readiness.static.rules.sql import migration_facts
from readiness.static.sql.facts import check_allowed_values, policy_facts, split_statements
from readiness.static.ts.responses import Responses
from readiness.static.ts.syntax import parse_source


def pf(src: str, path: str = "supabase/functions/f/index.ts", slug: str | None = "f"):
    return parse_source(path, src.encode(), slug)


# --- status writes ---------------------------------------------------------------------------

STATUS_A = """
const db = createClient(url, key);
await db.from('orders').update({ status: 'error', error_message: m }).eq('id', id);
"""
STATUS_B = """
async function setStatus(id: string, status: 'canceled' | "refunded") {
  const { error } = await supabaseAdmin.from("orders").update({ status }).eq("id", id);
}
const NEXT = `paid`;
await supabaseAdmin.from('orders').insert([{ user_id, status: NEXT }]);
"""


@pytest.mark.parametrize(
    "src,expected",
    [
        (STATUS_A, {("orders", "error")}),
        (STATUS_B, {("orders", "canceled"), ("orders", "refunded"), ("orders", "paid")}),
    ],
)
def test_status_writes(src, expected):
    rows = status.status_writes(pf(src))
    assert {(r["table"], r["value"]) for r in rows} == expected


def test_query_filters_resolve_lists():
    src = "const S = ['paid', 'active'];\nawait supabase.from('orders').select('*').in('status', S).eq('user_id', u);"
    rows = status.query_filters(pf(src, "src/x.ts", None))
    assert {(r["column"], r["value"]) for r in rows} == {
        ("status", "paid"),
        ("status", "active"),
        ("user_id", None),
    }


# --- catches, handlers, failed writes ---------------------------------------------------------


def _responses(*files):
    return Responses(list(files))


def test_empty_catch_in_try_and_promise():
    src = "try { await go(); } catch {}\nfetch(u).catch(() => {});\ntry { x() } catch (e) { console.error(e); throw e; }"
    p = pf(src)
    rows = errors.catch_facts(p, _responses(p))
    assert [(r["style"], r["empty"], r["logs"], r["rethrows"]) for r in rows] == [
        ("try", True, False, False),
        ("try", False, True, True),
        ("promise", True, False, False),
    ]


HANDLER_DENO = """
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
Deno.serve(async (req) => {
  try { return json({ ok: true }); }
  catch (err) { console.error(err); return json({ error: 'x' }, 500); }
});
"""
HANDLER_DEFAULT = """
import { serve } from 'https://deno.land/std/http/server.ts';
async function handler(request: Request): Promise<Response> {
  const body = await request.json();
  return new Response('ok');
}
serve(handler);
"""
HANDLER_EXPORT = """
export default {
  async fetch(req: Request) {
    try { return Response.json({ ok: 1 }); }
    catch (e) { return Response.json({ error: String(e) }, { status: 502 }); }
  },
};
"""


@pytest.mark.parametrize(
    "src,has_try,status",
    [(HANDLER_DENO, True, 500), (HANDLER_DEFAULT, False, None), (HANDLER_EXPORT, True, 502)],
)
def test_handler_shapes(src, has_try, status):
    p = pf(src)
    rows = errors.handler_facts(p, _responses(p), [])
    assert len(rows) == 1
    assert rows[0]["has_try"] is has_try
    assert rows[0]["catch_status"] == status


@pytest.mark.parametrize(
    "src,on_error",
    [
        (
            "const { error } = await db.from('orders').insert(row);\nif (error) throw error;",
            "throw",
        ),
        (
            "const { data, error: e } = await db.from('orders').insert(row).select().single();\n"
            "if (e) { console.error(e); }",
            "log_only",
        ),
        ("await db.from('orders').upsert(row);", "ignored"),
        (
            "const res = await db.from('orders').insert(row);\nif (res.error) return null;",
            "return_value",
        ),
    ],
)
def test_write_errors(src, on_error):
    p = pf(f"async function f() {{ {src} }}")
    rows = errors.write_errors(p, _responses(p))
    assert [r["on_error"] for r in rows] == [on_error]


# --- frontend --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src,origin,route",
    [
        (
            "const origin = req.headers.get('origin');\ns.create({ success_url: `${origin}/done?x=1` });",
            "request",
            "/done",
        ),
        (
            'const site = Deno.env.get("SITE_URL")!;\ns.create({ cancel_url: site + "/pricing" });',
            "env",
            "/pricing",
        ),
        ("s.create({ success_url: 'https://shop.example/thanks' });", "literal", "/thanks"),
    ],
)
def test_redirect_urls(src, origin, route):
    rows = frontend.redirect_urls(pf(src))
    assert (rows[0]["origin"], rows[0]["route"]) == (origin, route)


def test_routes_jsx_object_and_files():
    jsx = pf(
        'const a = <Routes><Route path="/dashboard" element={<D/>} /></Routes>;',
        "src/App.tsx",
        None,
    )
    obj = pf("createBrowserRouter([{ path: '/pricing', element: x }]);", "src/router.ts", None)
    assert [r["route"] for r in frontend.routes(jsx)] == ["/dashboard"]
    assert [r["route"] for r in frontend.routes(obj)] == ["/pricing"]
    assert frontend.file_route("src/pages/checkout/success.tsx") == "/checkout/success"
    assert frontend.file_route("app/dashboard/page.tsx") == "/dashboard"


def test_frontend_values_pairs_and_lists():
    src = "export const REGIONS = [{ id: 'eu-west' }, 'us-east'];\nsend({ plan_id: \"mc-1\", term: `monthly` });"
    rows = frontend.frontend_values(pf(src, "src/x.ts", None))
    assert {(r["field"], r["value"]) for r in rows} == {
        ("region", "eu-west"),
        ("region", "us-east"),
        ("plan_id", "mc-1"),
        ("term", "monthly"),
    }


@pytest.mark.parametrize(
    "src,blocking",
    [
        (
            "async function signUp(e, p) { await supabase.auth.signUp({ email: e, password: p });\n"
            "  await supabase.functions.invoke('create-pterodactyl-user'); }",
            True,
        ),
        (
            "const signUp = async () => { const r = await supabase.auth.signUp(x);\n"
            "  supabase.functions.invoke('create-pterodactyl-user').then(() => {}); };",
            False,
        ),
        (
            "async function register() { await supabase.auth.signUp(x); await createPanelAccount(); }",
            True,
        ),
    ],
)
def test_signup_flows(src, blocking):
    rows = frontend.signup_flows(pf(src, "src/auth.ts", None))
    assert rows[0]["awaits_panel"] is blocking


def test_key_kinds_never_keep_values():
    rows = frontend.key_kinds(
        "src/a.ts", "const k = 'pk_test_abcdefgh123';\nconst s = \"sk_live_abcdefgh999\""
    )
    assert [r["kind"] for r in rows] == ["pk_test", "sk_live"]
    assert "abcdefgh" not in json.dumps(rows)


# --- SQL ------------------------------------------------------------------------------------


def test_check_values_from_both_spellings():
    inline = migration_facts("a.sql", "create table t (status text check (status in ('a', 'b')));")
    alter = migration_facts(
        "b.sql",
        "ALTER TABLE public.t ADD CONSTRAINT s CHECK (status = ANY (ARRAY['a'::text, 'c'::text]));",
    )
    values = [
        json.loads(r["detail"])
        for r in inline["code_sql_objects"] + alter["code_sql_objects"]
        if r["kind"] == "check"
    ]
    assert values == [{"status": ["a", "b"]}, {"status": ["a", "c"]}]
    assert check_allowed_values("CHECK ((status = 'x') OR (status = 'y'))") == {
        "status": ["x", "y"]
    }


def test_migration_inserts_with_lines():
    sql = "-- plans\nINSERT INTO plans (id, stripe_price_id)\nVALUES ('a', 'price_1'),\n  ('b', NULL);\n"
    rows = migration_facts("m.sql", sql)["code_migration_inserts"]
    assert [(r["line"], json.loads(r["values"])["id"]) for r in rows] == [(3, "a"), (4, "b")]


def test_split_keeps_going_after_a_broken_statement():
    sql = "create table a (x int);\n\ncreate tabel b (y int);\n$$ignored$$;\ncreate function f() returns int language sql as $$ select 1; $$;"
    stmts = split_statements(sql)
    assert [s.line for s in stmts][:2] == [1, 3]
    assert stmts[-1].sql.startswith("create function")


@pytest.mark.parametrize(
    "lead",
    [
        "/* airports — seeded × 3 */ ",  # an em-dash and a multiplication sign in a comment
        "-- Réservations des séjours\n",  # accents, as French migrations write them
        "COMMENT ON SCHEMA public IS 'naïve café';\n",  # non-ASCII inside a statement
        "-- 🚀 launch\n",  # a four-byte character
        "",  # must not be flagged either way: plain ASCII
    ],
)
def test_split_is_exact_after_non_ascii_text(lead):
    """pglast's slices count characters; statements after any non-ASCII text must come
    out whole, on their own lines (a byte slice cut them mid-word)."""
    sql = f"{lead}CREATE TABLE airports (id int);\n\nCREATE TABLE flights (\n  id int\n);\n"
    stmts = split_statements(sql)
    tables = [s.sql for s in stmts if s.sql.startswith("CREATE TABLE")]
    assert tables == ["CREATE TABLE airports (id int)", "CREATE TABLE flights (\n  id int\n)"]
    lines = {s.sql.split(" (")[0]: s.line for s in stmts}
    first = lead.count("\n") + 1
    assert lines["CREATE TABLE airports"] == first
    assert lines["CREATE TABLE flights"] == first + 2


@pytest.mark.parametrize(
    "expr,uses_auth,admits,null_test",
    [
        ("(user_id = auth.uid())", True, False, False),
        ("((user_id = auth.uid()) OR (auth.uid() IS NULL))", True, True, True),
        ("true", False, True, False),
        ("(auth.jwt() ->> 'role') = 'admin'", True, False, False),
    ],
)
def test_policy_facts(expr, uses_auth, admits, null_test):
    f = policy_facts(expr)
    assert (f.uses_auth, f.admits_no_user, f.null_uid_test) == (uses_auth, admits, null_test)
