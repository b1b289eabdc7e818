"""Codebase source: every rule on differently written snippets, plus the sample platform."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from readiness.sandbox.platform_tree import materialize_platform
from readiness.sources.base import SourceError
from readiness.sources.codebase import TABLES, collect_codebase

FN = "supabase/functions"


def run(root: Path, files: dict[str, str]) -> dict[str, pd.DataFrame]:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return collect_codebase(root).tables


def rows(df: pd.DataFrame, **where: object) -> pd.DataFrame:
    for col, value in where.items():
        df = df[df[col] == value]
    return df


# Errors, schema, files ---------------------------------------------------------------------


def test_missing_root_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="codebase: path does not exist"):
        collect_codebase(tmp_path / "nope")
    (tmp_path / "file.ts").write_text("x")
    with pytest.raises(SourceError):
        collect_codebase(tmp_path / "file.ts")


def test_empty_tree_has_every_table_with_its_columns(tmp_path: Path) -> None:
    result = collect_codebase(tmp_path)
    assert set(result.tables) == set(TABLES)
    for name, df in result.tables.items():
        assert df.empty
        assert list(df.columns) == list(TABLES[name])
        assert {str(t) for t in df.dtypes} <= {"string", "Int64", "boolean"}
    assert any("config.toml" in note for note in result.notes)


def test_syntax_error_is_recorded_and_skipped(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/broken/index.ts": "Deno.serve(async (req) => { const x = ; \n",
            f"{FN}/fine/index.ts": "Deno.serve(() => new Response(Deno.env.get('OK')));\n",
            "supabase/config.toml": "[functions.fine\nverify_jwt = tru\n",
        },
    )
    files = t["code_files"].set_index("path")
    assert files.loc[f"{FN}/broken/index.ts", "parse_ok"] == False  # noqa: E712
    assert "line 1" in files.loc[f"{FN}/broken/index.ts", "parse_error"]
    assert files.loc["supabase/config.toml", "parse_ok"] == False  # noqa: E712
    assert list(t["code_env_reads"]["name"]) == ["OK"]


def test_file_kinds_slugs_lines_and_skipped_folders(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/pay/index.ts": "export {};\n",
            f"{FN}/_shared/db.ts": "export const a = 1;\n",
            "supabase/migrations/001_init.sql": "create table t(id int);\n",
            "supabase/config.toml": 'project_id = "x"\n',
            "src/App.tsx": "export const App = () => <div>hi</div>;\nexport default App;\n",
            "scripts/seed.ts": "console.log(1)\n",
            ".env.local": "A=1\n",
            "node_modules/pkg/index.js": "module.exports = 1\n",
            ".vite-cache/deps/chunk-ABC.js": "try { x() } catch (e) {}\n",
            ".expo/web/cache/x.js": "module.exports = 2\n",
        },
    )
    files = t["code_files"].set_index("path")
    assert "node_modules/pkg/index.js" not in files.index
    assert not [p for p in files.index if p.startswith((".vite-cache/", ".expo/"))]
    pay = files.loc[f"{FN}/pay/index.ts"]
    assert (pay["kind"], pay["function_slug"]) == ("function", "pay")
    assert files.loc[f"{FN}/_shared/db.ts", "kind"] == "shared"
    assert files.loc["supabase/migrations/001_init.sql", "kind"] == "migration"
    assert files.loc["supabase/config.toml", "kind"] == "config"
    app = files.loc["src/App.tsx"]
    assert (app["kind"], app["language"], app["lines"]) == ("frontend", "tsx", 2)
    assert files.loc["scripts/seed.ts", "kind"] == "other"
    assert files.loc[".env.local", "kind"] == "env"


# Functions and config -----------------------------------------------------------------------


def test_functions_from_folders_and_config(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            "supabase/config.toml": """
            project_id = "p"
            [functions.checkout]
            verify_jwt = true
            [functions.paddle-webhook]
            verify_jwt = false
            [functions.ghost]
            verify_jwt = false
        """,
            f"{FN}/checkout/index.ts": "Deno.serve(() => new Response('ok'))\n",
            f"{FN}/paddle-webhook/index.js": "export default { fetch() { return null } }\n",
            f"{FN}/payments/index.ts": """
            import Stripe from 'npm:stripe';
            const stripe = new Stripe('');
            Deno.serve(async (r) => {
              const e = stripe.webhooks.constructEvent(await r.text(), '', '');
              return new Response(e.id);
            });
        """,
        },
    )
    fns = t["code_functions"].set_index("slug")
    assert fns.loc["paddle-webhook", "path"] == f"{FN}/paddle-webhook/index.js"
    assert fns.loc["paddle-webhook", "verify_jwt"] == False  # noqa: E712
    assert pd.isna(fns.loc["ghost", "path"]) and fns.loc["ghost", "in_config"]
    assert pd.isna(fns.loc["payments", "verify_jwt"])
    assert fns.loc["payments", "verify_jwt_effective"] and not fns.loc["payments", "in_config"]
    assert fns.loc["payments", "is_stripe_webhook"]  # calls constructEvent
    # named like a webhook, but nothing in it is Stripe's: Stripe rules do not apply to it
    assert not fns.loc["paddle-webhook", "is_stripe_webhook"]
    assert not fns.loc["checkout", "is_stripe_webhook"]


def test_imports_resolve_and_missing_ones_are_flagged(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/a/index.ts": "import { x } from '../_shared/x.ts';\n"
            "import { y } from './gone.ts';\n",
            f"{FN}/_shared/x.ts": "export const x = 1;\n",
            "src/main.tsx": "import { App } from './App';\nconst m = await import(\"./lazy\");\n",
            "src/App.tsx": "export const App = 1;\n",
        },
    )
    imports = t["code_imports"].set_index("specifier")
    assert imports.loc["../_shared/x.ts", "resolved_path"] == f"{FN}/_shared/x.ts"
    assert imports.loc["./gone.ts", "resolved"] == False  # noqa: E712
    assert imports.loc["./App", "resolved_path"] == "src/App.tsx"
    assert imports.loc["./lazy", "resolved"] == False  # noqa: E712


# Environment reads --------------------------------------------------------------------------


def test_env_reads_in_every_quoting_and_runtime(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/a/index.ts": """
            const a = Deno.env.get('SINGLE')!;
            const b = Deno.env.get("DOUBLE") ?? 'fallback-b';
            const c = Deno.env.get(`TEMPLATE`) || "fallback-c";
            const d = Deno.env.get('FIRST') ?? Deno.env.get('SECOND');
            const name = 'DYNAMIC';
            const e = Deno.env.get(name);
        """,
            "src/config.ts": """
            export const url = import.meta.env.VITE_URL;
            export const key = process.env.NEXT_PUBLIC_KEY || 'dev-key';
            export const other = process.env['BRACKET'];
        """,
        },
    )
    reads = t["code_env_reads"].set_index("name")
    assert set(reads.index) == {
        "SINGLE",
        "DOUBLE",
        "TEMPLATE",
        "FIRST",
        "SECOND",
        "VITE_URL",
        "NEXT_PUBLIC_KEY",
        "BRACKET",
    }
    assert reads.loc["DOUBLE", "fallback"] == "fallback-b"
    assert reads.loc["TEMPLATE", "fallback"] == "fallback-c"
    assert reads.loc["NEXT_PUBLIC_KEY", "fallback"] == "dev-key"
    assert pd.isna(reads.loc["FIRST", "fallback"])
    assert reads.loc["FIRST", "fallback_expr"] == "Deno.env.get('SECOND')"
    assert pd.isna(reads.loc["SINGLE", "fallback"])
    assert reads.loc["SINGLE", "line"] == 1 and reads.loc["SINGLE", "function_slug"] == "a"


def test_env_reads_through_an_accessor_function(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/_shared/env.ts": """
            export function requireEnv(name: string): string {
              const value = Deno.env.get(name);
              if (!value) throw new Error(`${name} is not set`);
              return value;
            }
        """,
            f"{FN}/a/index.ts": "import { requireEnv } from '../_shared/env.ts';\n"
            'const key = requireEnv("PANEL_KEY");\n',
        },
    )
    reads = t["code_env_reads"]
    assert reads["name"].tolist() == ["PANEL_KEY"]
    assert reads["via"].tolist() == ["requireEnv"]


def test_env_file_entries_keep_names_not_values(tmp_path: Path) -> None:
    t = run(tmp_path, {".env.example": '# c\nA=1\nexport B="x"\nC=\n'})
    entries = t["code_env_file_entries"]
    assert entries[["name", "line", "has_value"]].values.tolist() == [
        ["A", 2, True],
        ["B", 3, True],
        ["C", 4, False],
    ]
    assert "value" not in entries.columns


# Webhook events -----------------------------------------------------------------------------


def test_webhook_events_switch_in_deno_serve(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
        Deno.serve(async (req) => {
          const event = await getEvent(req);
          switch (event.type) {
            case 'checkout.session.completed':
              break;
            case "customer.subscription.deleted": {
              break;
            }
            case `invoice.paid`:
            default:
          }
          if (price.type === 'recurring') {}
          return new Response('ok');
        });
    """
        },
    )
    ev = t["code_webhook_events"]
    assert ev["event_type"].tolist() == [
        "checkout.session.completed",
        "customer.subscription.deleted",
        "invoice.paid",
    ]
    assert ev["line"].tolist() == [4, 6, 9] and set(ev["pattern"]) == {"switch"}


def test_webhook_events_if_chain_destructured_type_and_handler_map(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/billing/index.ts": """
        import { serve } from 'https://deno.land/std@0.177.0/http/server.ts';
        const handlers: Record<string, (e: unknown) => Promise<void>> = {
          'invoice.payment_failed': onFailed,
          "customer.subscription.updated": onUpdated,
        };
        serve(async function handler(req: Request) {
          const evt = stripe.webhooks.constructEvent(await req.text(), sig, secret);
          if (evt.type === "checkout.session.completed") { await done(evt); }
          else if ('customer.subscription.deleted' == evt.type) { await gone(evt); }
          const { type } = evt;
          if (type !== 'charge.refunded') return new Response('ignored');
          if (['invoice.paid', 'invoice.upcoming'].includes(evt.type)) {}
          await handlers[evt.type as keyof typeof handlers]?.(evt);
          return new Response('ok');
        });
    """
        },
    )
    ev = t["code_webhook_events"]
    assert set(ev["event_type"]) == {
        "invoice.payment_failed",
        "customer.subscription.updated",
        "checkout.session.completed",
        "customer.subscription.deleted",
        "charge.refunded",
        "invoice.paid",
        "invoice.upcoming",
    }
    assert set(ev["pattern"]) == {"handler_map", "comparison", "list"}
    assert set(ev["function_slug"]) == {"billing"}


def test_webhook_events_only_in_webhook_functions_but_follow_shared_imports(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.test.ts": "if (e.type === 'test.only') {}\n",
            f"{FN}/notify/index.ts": "switch (msg.type) { case 'user.created': break; }\n",
            f"{FN}/_shared/events.ts": """
            export async function dispatch(event) {
              switch (event.type) { case 'checkout.session.completed': return; }
            }
        """,
            f"{FN}/stripe-webhook/index.ts": "import { dispatch } from '../_shared/events.ts'",
        },
    )
    ev = t["code_webhook_events"]
    assert ev[["function_slug", "event_type", "path"]].values.tolist() == [
        ["stripe-webhook", "checkout.session.completed", f"{FN}/_shared/events.ts"]
    ]


# Signature checks -----------------------------------------------------------------------------


def test_signature_inline_secret_before_side_effects(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
        Deno.serve(async (req) => {
          const body = await req.text();
          const event = await stripe.webhooks.constructEventAsync(
            body, req.headers.get('stripe-signature')!, Deno.env.get('STRIPE_WEBHOOK_SECRET')!);
          await supabase.from('orders').insert({ id: event.id });
          return new Response('ok');
        });
    """
        },
    )
    sig = t["code_signature_checks"].iloc[0]
    assert sig["call"] == "constructEventAsync" and sig["secret_env"] == "STRIPE_WEBHOOK_SECRET"
    assert sig["secret_expr"] == "Deno.env.get('STRIPE_WEBHOOK_SECRET')!"
    assert sig["before_side_effects"] and pd.isna(sig["first_side_effect_line"])
    assert sig["line"] == 3 and sig["payload_expr"] == "body"


def test_signature_secret_via_const_and_effect_first(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/hooks/index.ts": """
        const endpointSecret = Deno.env.get("STRIPE_WEBHOOK_SECRET") ?? "";
        export default {
          async fetch(request: Request): Promise<Response> {
            const raw = await request.text();
            await supabase.from("webhook_log").insert({ raw });
            const event = stripe.webhooks.constructEvent(raw, sig, endpointSecret);
            return new Response(event.id);
          },
        };
    """
        },
    )
    sig = t["code_signature_checks"].iloc[0]
    assert sig["call"] == "constructEvent" and sig["secret_env"] == "STRIPE_WEBHOOK_SECRET"
    assert sig["secret_expr"] == "endpointSecret"
    assert not sig["before_side_effects"] and sig["first_side_effect_line"] == 5


def test_signature_in_helper_called_after_a_write_and_literal_secret(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
        async function logDelivery(req: Request) {
          await fetch('https://logs.example.test', { method: 'POST' });
        }
        function verify(body: string, sig: string) {
          return stripe.webhooks.constructEvent(body, sig, 'whsec_literal');
        }
        Deno.serve(async (req) => {
          await logDelivery(req);
          const event = verify(await req.text(), req.headers.get('stripe-signature') ?? '');
          return new Response(event.id);
        });
    """
        },
    )
    sig = t["code_signature_checks"].iloc[0]
    assert pd.isna(sig["secret_env"]) and sig["secret_expr"] == "'whsec_literal'"
    assert not sig["before_side_effects"] and sig["first_side_effect_line"] == 8


def test_signature_secret_from_class_field_or_destructured_env(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
            class WebhookHandler {
              #secret = Deno.env.get('STRIPE_WEBHOOK_SECRET')!;
              async handle(req: Request) {
                const event = await this.stripe.webhooks.constructEventAsync(
                  await req.text(), req.headers.get('stripe-signature')!, this.#secret);
                await this.db.from('orders').update({ status: 'paid' }).eq('id', event.id);
              }
            }
        """,
            f"{FN}/billing-webhook/index.js": """
            const { WEBHOOK_SECRET: endpointSecret } = Deno.env.toObject();
            Deno.serve(async function (req) {
              const e = stripe.webhooks.constructEvent(await req.text(), sig, endpointSecret);
              return new Response(e.id);
            });
        """,
        },
    )
    sig = t["code_signature_checks"].set_index("function_slug")
    assert sig.loc["stripe-webhook", "secret_env"] == "STRIPE_WEBHOOK_SECRET"
    assert sig.loc["stripe-webhook", "before_side_effects"]
    assert sig.loc["billing-webhook", "secret_env"] == "WEBHOOK_SECRET"


# Checkout prices and metadata writes ---------------------------------------------------------


def test_price_from_database_with_inline_metadata(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/create-checkout-session/index.ts": """
        Deno.serve(async (req) => {
          const { planId, region } = await req.json();
          const { data: plan, error } = await supabase
            .from("plans").select("*").eq("id", planId).single();
          const session = await stripe.checkout.sessions.create({
            mode: "subscription",
            line_items: [{ price: plan!.stripe_price_id, quantity: 1 }],
            metadata: { user_id: user.id, plan_id: planId, region },
            subscription_data: { metadata: { user_id: user.id } },
            success_url: `${origin}/ok`,
            cancel_url: `${origin}/cancel`,
          });
          return Response.json({ url: session.url });
        });
    """
        },
    )
    price = t["code_checkout_prices"].iloc[0]
    assert price[["price_expr", "source", "table", "line"]].tolist() == [
        "plan!.stripe_price_id",
        "database",
        "plans",
        7,
    ]
    writes = t["code_metadata_writes"]
    assert rows(writes, container="session")["key"].tolist() == ["user_id", "plan_id", "region"]
    assert rows(writes, container="subscription_data")["key"].tolist() == ["user_id"]
    session = t["code_checkout_sessions"].iloc[0]
    assert session["mode"] == "subscription" and session["success_url_expr"] == "`${origin}/ok`"


def test_price_from_request_body_in_two_styles(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/a/index.ts": """
            Deno.serve(async (req) => {
              const { priceId } = await req.json();
              await stripe.checkout.sessions.create({ line_items: [{ price: priceId }] });
            });
        """,
            f"{FN}/b/index.ts": """
            import { serve } from 'std/http/server.ts';
            serve(async function (request) {
              const body = await request.json();
              const params = { price_id: body.price_id };
              const base = { mode: 'payment', metadata: { ...params, source: 'web' } };
              await stripe.checkout.sessions.create({
                ...base,
                line_items: [{ price: params.price_id, quantity: 1 },
                             { price_data: { currency: 'eur', unit_amount: body.amount } }],
              });
            });
        """,
        },
    )
    prices = t["code_checkout_prices"].sort_values(["function_slug", "line"])
    assert prices["source"].tolist() == ["request", "request", "request"]
    assert prices["property"].tolist() == ["price", "price", "price_data.unit_amount"]
    assert rows(t["code_metadata_writes"], function_slug="b")["key"].tolist() == [
        "price_id",
        "source",
    ]
    assert t["code_checkout_sessions"].set_index("function_slug").loc["b", "mode"] == "payment"


def test_price_literal_map_env_and_callback(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/c/index.ts": """
        const PRICES: Record<string, string> = { small: 'price_small_monthly' };
        const fallbackPrice = Deno.env.get('DEFAULT_PRICE');
        export default { async fetch(req: Request) {
          const { data: rows } = await client.from('plans').select('stripe_price_id');
          const params = {
            mode: 'subscription',
            line_items: [
              { price: 'price_hardcoded', quantity: 1 },
              { price: `price_minecraft_${ram}gb` },
              { price: PRICES.small },
              { price: fallbackPrice },
            ],
            metadata: buildMetadata(req),
          };
          await stripe.checkout.sessions.create(params);
          await stripe.checkout.sessions.create({
            line_items: rows.map((row) => ({ price: row.stripe_price_id, quantity: 1 })),
          });
        } };
    """
        },
    )
    prices = t["code_checkout_prices"]
    assert prices["source"].tolist() == ["literal", "literal", "literal", "env", "database"]
    assert prices["table"].tolist()[-1] == "plans"
    assert t["code_metadata_writes"]["key"].tolist() == ["*dynamic*"]
    assert t["code_checkout_sessions"]["params_resolved"].tolist() == [True, True]


def test_metadata_spread_of_unknown_object(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/d/index.ts": """
        async function start(extra: Record<string, string>) {
          return await stripe.checkout.sessions.create({ metadata: { ...extra, user_id } });
        }
    """
        },
    )
    assert t["code_metadata_writes"]["key"].tolist() == ["*spread*", "user_id"]


# Metadata reads -----------------------------------------------------------------------------


def test_metadata_reads_dotted_optional_indexed(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
        const session = event.data.object as Stripe.Checkout.Session;
        const userId = session.metadata.user_id;
        const plan = session.metadata?.plan_id;
        const region = session.metadata!["region"];
        const term = event.data.object.metadata['term'];
        const md = session.metadata ?? {};
        const name = md.server_name;
        session.metadata.assigned = 'x';
        const email = user.user_metadata.email;
    """
        },
    )
    reads = t["code_metadata_reads"]
    assert reads["key"].tolist() == ["user_id", "plan_id", "region", "term", "server_name"]
    assert reads["object_expr"].tolist() == ["session"] * 3 + ["event.data.object", "session"]
    assert reads["line"].tolist() == [2, 3, 4, 5, 7]


def test_metadata_reads_destructured(tmp_path: Path) -> None:
    t = run(
        tmp_path,
        {
            f"{FN}/stripe-webhook/index.ts": """
        function handle(session: Stripe.Checkout.Session, sub: Stripe.Subscription) {
          const { user_id, plan_id: planId, region = 'eu-west', ...rest } = session.metadata ?? {};
          const { metadata } = sub;
          const { term } = metadata;
          const { "server_name": serverName } = sub.metadata || {};
        }
    """
        },
    )
    reads = t["code_metadata_reads"]
    assert reads["key"].tolist() == ["user_id", "plan_id", "region", "term", "server_name"]
    assert reads["object_expr"].tolist() == ["session"] * 3 + ["sub", "sub"]


# The sample platform --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    out = {}
    for profile in ("clean", "defects"):
        dest = tmp_path_factory.mktemp(profile)
        materialize_platform(profile, dest)
        out[profile] = collect_codebase(dest).tables
    return out


def test_sample_clean_facts(sample_tables: dict[str, dict[str, pd.DataFrame]]) -> None:
    t = sample_tables["clean"]
    code = t["code_files"]
    assert code[code["language"].notna()]["parse_ok"].all()
    writes = set(rows(t["code_metadata_writes"], container="session")["key"])
    reads = set(rows(t["code_metadata_reads"], function_slug="stripe-webhook")["key"])
    assert reads and reads <= writes
    assert set(rows(t["code_metadata_writes"], container="subscription_data")["key"]) == writes
    assert t["code_checkout_prices"][["source", "table"]].values.tolist() == [["database", "plans"]]
    sig = t["code_signature_checks"]
    assert len(sig) == 1 and sig["before_side_effects"].all()
    assert sig["secret_env"].tolist() == ["STRIPE_WEBHOOK_SECRET"]
    events = set(t["code_webhook_events"]["event_type"])
    assert {"checkout.session.completed", "customer.subscription.deleted"} <= events
    fns = t["code_functions"].set_index("slug")
    assert fns.loc["stripe-webhook", "verify_jwt"] == False  # noqa: E712
    assert fns["is_stripe_webhook"].sum() == 1
    assert fns.drop("stripe-webhook")["verify_jwt"].all()


Tables = dict[str, dict[str, pd.DataFrame]]


def test_sample_defects_drop_the_term_write(sample_tables: Tables) -> None:
    t = sample_tables["defects"]
    writes = set(t["code_metadata_writes"]["key"])
    reads = set(rows(t["code_metadata_reads"], function_slug="stripe-webhook")["key"])
    assert "term" not in writes and "term" in reads
    assert reads - writes == {"term"}
