# ruff: noqa: E501  (code snippets read best on one line)
"""Areas 4, 5, 7: occurrences of one problem fold into one finding, and a finding that
follows from another check's problem points at it (`link_causes`) — only when that problem
was found. Checkouts are written on disk in the styles the area tests use and collected
with the real codebase/schema sources; every test holds the negative case too: without
the cause the finding stands alone, unrelated things stay apart. Areas 6, 8, 9 are in
test_problem_links_6_9."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Finding, Status, link_causes
from readiness.snapshot import Snapshot, SourceState
from readiness.static.rules.tables import TABLES, frame
from readiness.static.sql.catalog import COLUMNS as SCHEMA_TABLES
from readiness.static.sql.catalog import frame as schema_frame
from tests.test_code_rules_callers import checkout
from tests.test_problem_links import linked, problem, problems

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FN = "supabase/functions"
ADMIN = """import { createClient } from 'npm:@supabase/supabase-js@2';
const admin = createClient(Deno.env.get('SUPABASE_URL')!, Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);
"""


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def judged(config, tables: dict[str, pd.DataFrame], *check_ids: str) -> list[Finding]:
    """The named checks over the tables (every source ok), consequences linked."""
    full = {name: frame(name, []) for name in TABLES}
    full.update({name: schema_frame(name, []) for name in SCHEMA_TABLES})
    full.update(tables)
    states = {s: SourceState(s, "ok") for s in ("codebase", "schema", "supabase_api", "database")}
    snapshot = Snapshot(NOW, states, full)
    found = [f for c in check_ids for f in evaluate_check(REGISTRY[c], snapshot, config)]
    return link_causes(found)


def where(f: Finding) -> list[str]:
    """Every location of a problem as `path:line`, in file and line order."""
    at = sorted(loc.path_line() or (str(loc.location), 0) for loc in f.locations)
    return [f"{p}:{n}" for p, n in at]


def fn(slug: str, body: str, *, admin: bool = True, name: str = "index.ts") -> tuple[str, str]:
    return f"{FN}/{slug}/{name}", (ADMIN if admin else "") + textwrap.dedent(body)


# --- area 7: environment variables --------------------------------------------------------


def test_one_variables_risky_fallback_in_several_files_is_one_problem(tmp_path, demo_config):
    files = dict(
        [
            fn(
                "pay",
                "const key = Deno.env.get('STRIPE_SECRET_KEY') ?? 'sk_test_dev';\nconst panel = Deno.env.get('PANEL_URL') || 'http://localhost:8080';\n",
            ),
            fn(
                "refund",
                'const stripeKey = Deno.env.get("STRIPE_SECRET_KEY") || "";\n',
                admin=False,
            ),
            (
                "supabase/functions/_shared/stripe.ts",
                "export const key = Deno.env.get(`STRIPE_SECRET_KEY`) ?? 'none';\n",
            ),
        ]
    )
    fs = judged(demo_config, checkout(tmp_path, files), "CONFIG-ENV-FALLBACK")
    key = problem(fs, "CONFIG-ENV-FALLBACK", "env-fallback:STRIPE_SECRET_KEY")
    assert key.status == Status.FAIL and len(key.locations) == 3
    assert {loc.resource for loc in key.locations} == {
        f"env-fallback:{p}:STRIPE_SECRET_KEY"
        for p in (f"{FN}/pay/index.ts", f"{FN}/refund/index.ts", f"{FN}/_shared/stripe.ts")
    }
    # another variable is another fix: its own problem
    url = problem(fs, "CONFIG-ENV-FALLBACK", "env-fallback:PANEL_URL")
    assert url is not key and url.status == Status.WARN and len(url.locations) == 1
    assert len(problems(fs, "CONFIG-ENV-FALLBACK")) == 2


VITE_APP = {
    "package.json": '{"name": "shop", "scripts": {"dev": "vite", "build": "vite build"}, "dependencies": {"react": "18"}}\n',
    "index.html": '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n',
    "src/main.tsx": "import { admin } from './lib/admin';\nconsole.log(admin);\n",
}


def env_checkout(root: Path) -> dict:
    files = {
        **VITE_APP,
        # one setting under two names; a key nobody set; a set one nobody documented
        f"{FN}/panel/index.ts": """
            const panel = Deno.env.get('PANEL_URL') ?? Deno.env.get('PTERODACTYL_URL');
            const resend = Deno.env.get('RESEND_API_KEY')!;
            const from = Deno.env.get('MAILER_FROM')!;
            Deno.serve(() => fetch(`${panel}/api`, { headers: { from, resend } }));
            """,
        # a secret the bundler inlines, a secret name it never inlines, a public setting
        "src/lib/admin.ts": """
            export const admin = import.meta.env.VITE_SUPABASE_SERVICE_ROLE_KEY;
            export const token = process.env.ADMIN_TOKEN;
            export const site = import.meta.env.VITE_SITE_NAME;
            """,
        ".env.example": "PANEL_URL=\n",
    }
    tables = checkout(root, files)
    tables["supabase_secrets"] = pd.DataFrame(
        {"name": ["PTERODACTYL_URL", "MAILER_FROM"]}, dtype="string"
    )
    return tables


ENV_CHECKS = ("CONFIG-ENV-ALIASES", "CONFIG-ENV-SET", "AUTH-FRONTEND-KEYS", "CONFIG-ENV-DOCUMENTED")


def test_an_undocumented_variable_follows_its_alias_its_missing_secret_or_a_leaked_key(
    tmp_path, demo_config
):
    fs = judged(demo_config, env_checkout(tmp_path), *ENV_CHECKS)
    alias = problem(fs, "CONFIG-ENV-ALIASES", "setting:PANEL_URL,PTERODACTYL_URL")
    assert {loc.resource for loc in alias.locations} == {"env:PANEL_URL", "env:PTERODACTYL_URL"}
    doc = {f.resource: f for f in problems(fs, "CONFIG-ENV-DOCUMENTED")}
    # read under a second name: the alias is the fix
    assert linked(doc["env:PTERODACTYL_URL"], alias)
    # nobody set it either: configuring it is one problem
    unset = problem(fs, "CONFIG-ENV-SET", "env:RESEND_API_KEY")
    assert unset.cause is None and linked(doc["env:RESEND_API_KEY"], unset)
    # the browser reads a service-role key: that leak is the problem
    leak = problem(fs, "AUTH-FRONTEND-KEYS", "file:src/lib/admin.ts")
    assert linked(doc["env:VITE_SUPABASE_SERVICE_ROLE_KEY"], leak)
    # set, one name, not a leak: undocumented on its own
    assert doc["env:MAILER_FROM"].cause is None
    assert doc["env:VITE_SITE_NAME"].cause is None
    # a secret-looking name the bundler never inlines leaks nothing from that file
    assert doc["env:ADMIN_TOKEN"].cause is None


def test_an_unset_variable_follows_its_alias_and_stands_alone_without_one(tmp_path, demo_config):
    fs = judged(demo_config, env_checkout(tmp_path), *ENV_CHECKS)
    alias = problem(fs, "CONFIG-ENV-ALIASES", "env:PANEL_URL")
    assert linked(problem(fs, "CONFIG-ENV-SET", "env:PANEL_URL"), alias)
    assert problem(fs, "CONFIG-ENV-SET", "env:RESEND_API_KEY").cause is None


# --- area 4: row-level security ----------------------------------------------------------

RLS_SQL = {
    # hand-written, RLS never enabled
    "20250101000000_orders.sql": """
        create table public.orders (id uuid primary key default gen_random_uuid(), user_id uuid, status text);
        """,
    # Supabase CLI dump style: one policy lets a caller without a user in
    "20250102000000_dump.sql": """
        CREATE TABLE IF NOT EXISTS "public"."bookings" ("id" uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY, "user_id" uuid, "total_cents" integer);
        ALTER TABLE "public"."bookings" ENABLE ROW LEVEL SECURITY;
        CREATE POLICY "Guests or owners book" ON "public"."bookings" FOR INSERT WITH CHECK ((("auth"."uid"() IS NULL) OR ("auth"."uid"() = "user_id")));
        """,
    # two policies let anon in, one of them by a null uid: no single cause
    "20250103000000_hand.sql": """
        create table public.invoices (id uuid primary key default gen_random_uuid(), user_id uuid, total int);
        alter table public.invoices enable row level security;
        create policy "jobs update" on public.invoices for update using (auth.uid() is null);
        create policy "anyone deletes" on public.invoices for delete using (true);
        create table public.feedback (id uuid primary key default gen_random_uuid(), message text);
        alter table public.feedback enable row level security;
        create policy "Anyone can send feedback" on public.feedback for insert with check (true);
        """,
    # foreign keys in two schemas, one of them indexed
    "20250104000000_fks.sql": """
        create table public.servers (id uuid primary key, order_id uuid not null references public.orders (id));
        create table public.order_items (id uuid primary key, order_id uuid references public.orders, booking_id uuid references public.bookings (id) on delete cascade);
        create table public.payments (id uuid primary key, order_id uuid references public.orders (id));
        create index payments_order_id_idx on public.payments (order_id);
        alter table public.servers enable row level security;
        alter table public.order_items enable row level security;
        alter table public.payments enable row level security;
        create schema billing;
        create table billing.invoices (id uuid primary key, order_id uuid, customer_id uuid,
          constraint invoices_order_fk foreign key (order_id) references public.orders (id),
          constraint invoices_customer_fk foreign key (customer_id) references public.bookings (id));
        """,
}


@pytest.fixture(scope="module")
def rls(tmp_path_factory):
    from readiness.config import load_config
    from readiness.sources.schema import collect_schema

    root = tmp_path_factory.mktemp("rls")
    mig = root / "supabase" / "migrations"
    mig.mkdir(parents=True)
    for name, sql in RLS_SQL.items():
        (mig / name).write_text(textwrap.dedent(sql))
    base = load_config(Path(__file__).resolve().parents[1] / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={"codebase": base.sources.codebase.model_copy(update={"path": root})}
    )
    config = base.model_copy(update={"sources": sources})
    all_checks()
    tables = collect_schema(config, config.secrets()).tables
    assert not tables["schema_migrations"]["ok"].eq(False).any(), tables["schema_migrations"]
    checks = ("DB-RLS-ENABLED", "SEC-RLS-NULL-UID", "SEC-RLS-ANON-WRITE", "DB-FK-INDEX")
    return config, judged(config, tables, *checks)


def test_anonymous_writes_follow_rls_being_off(rls):
    _, fs = rls
    off = problem(fs, "DB-RLS-ENABLED", "table:public.orders")
    assert linked(problem(fs, "SEC-RLS-ANON-WRITE", "table:public.orders"), off)
    assert [f.resource for f in problems(fs, "DB-RLS-ENABLED")] == ["table:public.orders"]


def test_anonymous_writes_follow_the_one_policy_that_admits_no_user(rls):
    _, fs = rls
    null_uid = problem(fs, "SEC-RLS-NULL-UID", "policy:public.bookings:Guests or owners book")
    assert linked(problem(fs, "SEC-RLS-ANON-WRITE", "table:public.bookings"), null_uid)
    # two policies let anon change invoices: the null-uid one alone is not the cause
    problem(fs, "SEC-RLS-NULL-UID", "policy:public.invoices:jobs update")
    assert problem(fs, "SEC-RLS-ANON-WRITE", "table:public.invoices").cause is None
    # RLS on, no null uid: the anonymous insert is its own question
    feedback = problem(fs, "SEC-RLS-ANON-WRITE", "table:public.feedback")
    assert feedback.status == Status.WARN and feedback.cause is None


# --- area 4: ownership of what a function acts on ------------------------------------------

PANEL = "const panel = Deno.env.get('PTERODACTYL_URL')!;\n"


def test_a_missing_owner_check_follows_the_missing_caller_check(tmp_path, demo_config):
    files = dict(
        [
            # std serve, verify_jwt on: anyone with the anon key powers any server
            fn(
                "server-power",
                PANEL
                + """
                import { serve } from 'https://deno.land/std@0.190.0/http/server.ts';
                serve(async (req) => {
                  const { server_id, signal } = await req.json();
                  const { data: server } = await admin.from('servers').select('*').eq('id', server_id).single();
                  await fetch(`${panel}/api/client/servers/${server.identifier}/power`, { method: 'POST', body: JSON.stringify({ signal }) });
                  return new Response('ok');
                });
                """,
            ),
            # verify_jwt = false and the service role: the open function is the problem
            fn(
                "server-delete",
                PANEL
                + """
                Deno.serve(async (req) => {
                  const { orderId } = await req.json();
                  const { data: order } = await admin.from('orders').select('*').eq('id', orderId).single();
                  await fetch(`${panel}/api/application/servers/${order.server_id}`, { method: 'DELETE' });
                  return new Response('deleted');
                });
                """,
            ),
            # the caller is authenticated, but never compared with the order's owner
            fn(
                "order-cancel",
                PANEL
                + """
                Deno.serve(async (req) => {
                  const { data: { user } } = await admin.auth.getUser(req.headers.get('Authorization')!.replace('Bearer ', ''));
                  if (!user) return new Response('Unauthorized', { status: 401 });
                  const { orderId } = await req.json();
                  const { data: order } = await admin.from('orders').select('*').eq('id', orderId).single();
                  await fetch(`${panel}/api/application/servers/${order.server_id}/suspend`, { method: 'POST' });
                  return new Response('ok');
                });
                """,
            ),
        ]
    )
    tables = checkout(tmp_path, files, open_fns=("server-delete",))
    checks = ("AUTH-PRIVILEGED-CALLER", "AUTH-NOJWT-SERVICE-ROLE", "AUTH-OWNERSHIP")
    fs = judged(demo_config, tables, *checks)
    owner = {f.resource: f for f in problems(fs, "AUTH-OWNERSHIP")}
    assert set(owner) == {
        "function:server-power",
        "function:server-delete",
        "function:order-cancel",
    }
    caller = problem(fs, "AUTH-PRIVILEGED-CALLER", "function:server-power")
    assert linked(owner["function:server-power"], caller)
    nojwt = problem(fs, "AUTH-NOJWT-SERVICE-ROLE", "function:server-delete")
    assert linked(owner["function:server-delete"], nojwt)
    # a real caller check: the missing ownership check is the problem itself
    assert problems(fs, "AUTH-PRIVILEGED-CALLER") == [caller]
    assert owner["function:order-cancel"].cause is None


# --- area 5: foreign key indexes ---------------------------------------------------------


def test_missing_foreign_key_indexes_of_one_schema_are_one_migration(rls):
    _, fs = rls
    fk = {
        f.resource: sorted(loc.resource for loc in f.locations) for f in problems(fs, "DB-FK-INDEX")
    }
    assert fk == {
        "fk-index:public": [
            "fk:public.order_items(booking_id)",
            "fk:public.order_items(order_id)",
            "fk:public.servers(order_id)",
        ],
        "fk-index:billing": ["fk:billing.invoices(customer_id)", "fk:billing.invoices(order_id)"],
    }
    assert "fk:public.payments(order_id)" in {f.resource for f in fs if f.status == Status.PASS}
