"""The catalogue the migrations leave (issue 14 §2): writes replayed in the CLI's order,
ON CONFLICT honoured, UPDATEs that match nothing said, placeholders named with the file
and line that left them — on histories written in several styles."""

from __future__ import annotations

import json
from pathlib import Path

from readiness.checks.area01_seed import replay
from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.config import load_config, write_static_params
from readiness.findings import Status
from readiness.snapshot import collect
from readiness.static.rules.catalog_seed import apply_order, catalog_writes
from readiness.static.rules.tables import frame

REPO = Path(__file__).resolve().parents[1]
REAL_4GB = "price_1PqRsT2eZvKYlo2CaBcDeF12"
REAL_8GB = "price_1PqRsU2eZvKYlo2CxYzWvU34"

CLI_STYLE = {
    # the Supabase CLI names: <timestamp>_<name>.sql; a non-ASCII comment first
    "supabase/migrations/20240101000000_plans.sql": """\
-- Catalogue — first draft (prix à confirmer)
create table public.plans (id text primary key, game text, ram_gb int,
  stripe_price_id text, active boolean default true);
insert into public.plans (id, game, ram_gb, stripe_price_id) values
  ('mc-4', 'minecraft', 4, 'price_minecraft_4gb'),
  ('mc-8', 'minecraft', 8, 'price_minecraft_8gb'),
  ('rust-8', 'rust', 8, 'PRICE_ID_HERE');
""",
    "supabase/migrations/20240201000000_live_prices.sql": f"""\
UPDATE public.plans SET stripe_price_id = '{REAL_4GB}' WHERE id = 'mc-4';
UPDATE public.plans SET stripe_price_id = 'price_1ZZZ' WHERE id IN ('mc-16');
""",
    # the CLI skips a name without the <digits>_ prefix: never applied
    "supabase/migrations/fix_rust_price.sql": f"""\
update plans set stripe_price_id = '{REAL_8GB}' where id = 'rust-8';
""",
}


def _writes(files: dict[str, str]):
    order = apply_order(list(files))
    return frame("code_catalog_writes", catalog_writes([(p, files[p]) for p in order]))


def _placeholders(files: dict[str, str]) -> dict[str, str]:
    rows = replay(_writes(files)).rows.get("public.plans", {})
    return {dict(k)["id"]: r.values["stripe_price_id"] for k, r in rows.items()}


def test_apply_order_is_the_clis() -> None:
    paths = [
        "supabase/migrations/20240201000000_b.sql",
        "supabase/migrations/fix.sql",
        "supabase/seed.sql",
        "supabase/migrations/20240101000000_a.sql",
        "supabase/migrations/old/20230101000000_x.sql",
    ]
    assert apply_order(paths) == [
        "supabase/migrations/20240101000000_a.sql",
        "supabase/migrations/20240201000000_b.sql",
        "supabase/seed.sql",
    ]


def test_updates_apply_in_order_and_a_skipped_file_does_not() -> None:
    rep = replay(_writes(CLI_STYLE))
    prices = {
        dict(k)["id"]: r.values["stripe_price_id"] for k, r in rep.rows["public.plans"].items()
    }
    assert prices == {"mc-4": REAL_4GB, "mc-8": "price_minecraft_8gb", "rust-8": "PRICE_ID_HERE"}
    assert [u["where"] for u in rep.unmatched_updates] == [{"id": ["mc-16"]}]
    assert rep.unmatched_updates[0]["at"] == "supabase/migrations/20240201000000_live_prices.sql:2"
    assert rep.repriced[0]["from"] == "price_minecraft_4gb" and rep.repriced[0]["to"] == REAL_4GB


def test_on_conflict_do_nothing_keeps_the_placeholder_and_do_update_replaces_it() -> None:
    base = {
        "supabase/migrations/1_plans.sql": (
            "CREATE TABLE plans (id text PRIMARY KEY, stripe_price_id text);\n"
            "INSERT INTO plans (id, stripe_price_id) VALUES ('a', 'price_basic_monthly'),"
            " ('b', 'price_pro_monthly');\n"
        ),
        "supabase/migrations/2_reseed.sql": (
            f"INSERT INTO plans (id, stripe_price_id) VALUES ('a', '{REAL_4GB}')\n"
            "  ON CONFLICT (id) DO NOTHING;\n"
            f"INSERT INTO plans (id, stripe_price_id) VALUES ('b', '{REAL_8GB}')\n"
            "  ON CONFLICT (id) DO UPDATE SET stripe_price_id = EXCLUDED.stripe_price_id;\n"
        ),
    }
    assert _placeholders(base) == {"a": "price_basic_monthly", "b": REAL_8GB}


def test_truncate_of_a_table_an_earlier_file_made_is_said() -> None:
    files = {
        "supabase/migrations/001_seed.sql": (
            "create table prices (lookup_key text primary key, stripe_price_id text);\n"
            "insert into prices (lookup_key, stripe_price_id) values ('x', 'price_x_1');\n"
        ),
        "supabase/migrations/002_reset.sql": "truncate table prices restart identity;\n",
    }
    rep = replay(_writes(files))
    assert rep.rows["public.prices"] == {}
    assert [(d["op"], d["created_in"]) for d in rep.destructive] == [
        ("TRUNCATE", "supabase/migrations/001_seed.sql")
    ]


def test_drop_if_exists_before_the_first_create_is_not_destructive(tmp_path) -> None:
    files = {
        "supabase/migrations/20240101000000_plans.sql": (
            "drop table if exists subscription_plans cascade;\n"
            "create table subscription_plans (id bigint primary key, stripe_price_id text);\n"
        ),
        # a table named like a catalogue but holding no price: its purge is not ours
        "supabase/migrations/20240102000000_ai.sql": (
            "create table ai_pending_plans (id uuid primary key, body jsonb);\n"
        ),
        "supabase/migrations/20240103000000_purge.sql": "delete from ai_pending_plans;\n",
    }
    found = _run(tmp_path, files)
    assert [f.status for f in found["STRIPE-SEED-CATALOG"]] == [Status.PASS]


def _run(tmp: Path, files: dict[str, str]):
    tmp.mkdir(parents=True, exist_ok=True)
    root = tmp / "checkout"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    config = load_config(write_static_params(tmp, root, REPO / "params/expected_catalog.yaml"))
    snapshot = collect(config, tmp / "evidence")
    all_checks()
    return {
        cid: evaluate_check(REGISTRY[cid], snapshot, config, {})
        for cid in ("STRIPE-SEED-PLACEHOLDER", "STRIPE-SEED-CATALOG")
    }


def test_static_audit_names_every_placeholder_once_with_its_line(tmp_path) -> None:
    files = {
        **CLI_STYLE,
        # seed.sql applies after every migration
        "supabase/seed.sql": "insert into public.addons (slug, stripe_price_id) values "
        "('backups', 'price_backups_addon');\n",
    }
    found = _run(tmp_path, files)
    placeholders = found["STRIPE-SEED-PLACEHOLDER"]
    by_table = {f.resource: f for f in placeholders}
    assert set(by_table) == {"seed:public.plans", "seed:public.addons"}
    plans = by_table["seed:public.plans"]
    assert plans.status == Status.FAIL and plans.severity == "high"
    assert "2 price id(s) in public.plans are placeholders" in plans.reason
    assert [p["row"] for p in plans.evidence["placeholders"]] == ["id=mc-8", "id=rust-8"]
    assert plans.location == "supabase/migrations/20240101000000_plans.sql:6"
    assert plans.evidence["locations"] == [
        "supabase/migrations/20240101000000_plans.sql:6",
        "supabase/migrations/20240101000000_plans.sql:7",
    ]
    assert by_table["seed:public.addons"].location == "supabase/seed.sql:1"
    catalog = {f.resource: f for f in found["STRIPE-SEED-CATALOG"]}
    assert catalog["seed-update:supabase/migrations/20240201000000_live_prices.sql:2"].status == (
        Status.WARN
    )
    assert json.dumps(catalog["seed-repriced"].evidence)  # JSON-safe evidence


def test_real_price_ids_and_amount_columns_are_not_flagged(tmp_path) -> None:
    files = {
        "supabase/migrations/20240101000000_products.sql": (
            "create table products (id uuid primary key default gen_random_uuid(),\n"
            "  name text, price numeric, price_cents int, stripe_price_id text);\n"
            "insert into products (name, price, price_cents, stripe_price_id) values\n"
            f"  ('Tee', 19.99, 1999, '{REAL_4GB}'), ('Mug', 9.5, 950, '{REAL_8GB}'),\n"
            "  ('Gift card', 25, 2500, null);\n"
        )
    }
    found = _run(tmp_path, files)
    assert [f.status for f in found["STRIPE-SEED-PLACEHOLDER"]] == [Status.PASS]
    assert [f.status for f in found["STRIPE-SEED-CATALOG"]] == [Status.PASS]


def test_the_price_question_states_the_live_rows_and_the_migrations() -> None:
    from types import SimpleNamespace

    from readiness.findings import Finding
    from readiness.workbook import prices_confirmation

    def f(check, status, resource, reason="r", evidence=None):
        return Finding(check, Status(status), "high", resource, reason, 1, evidence=evidence or {})

    plans_ok = [f("STRIPE-PRICE-PLACEHOLDER", "pass", "plan:mc-4")]
    live_ok = [f(c, "pass", "plan:mc-4") for c in STRIPE] + plans_ok
    seed_bad = [
        f(
            "STRIPE-SEED-PLACEHOLDER",
            "fail",
            "seed:public.plans",
            evidence={"placeholders": [{}, {}]},
        )
    ]
    seed_ok = [f("STRIPE-SEED-PLACEHOLDER", "pass", "seed", "The migrations seed no price ids.")]
    unread = [
        f(c, "not_verified", f"check:{c}", "source 'stripe' is disabled in params") for c in STRIPE
    ] + plans_ok

    def ask(findings):
        return prices_confirmation(
            SimpleNamespace(findings=findings, config=SimpleNamespace(catalog=None))
        )

    ok, text = ask(live_ok + seed_bad)
    assert ok is False and "2 in the migrations (public.plans)" in text
    ok, text = ask(live_ok + seed_ok)
    assert ok is True and text.startswith("Yes: of 1 plan sold, all have a correct live price")
    assert "no placeholder in the live data or the migrations" in text
    # live unreadable: the static half still answers "no" when the migrations are wrong
    ok, text = ask(unread + seed_bad)
    assert ok is False and "cannot be checked (source 'stripe' is disabled in params)" in text
    ok, text = ask(unread + seed_ok)
    assert ok is None and text.startswith("Cannot confirm")


STRIPE = ["STRIPE-PRICE-LIVE", "STRIPE-PRICE-ACTIVE", "STRIPE-PRODUCT-ACTIVE", "STRIPE-PRICE-TERMS"]


def test_a_second_plain_insert_of_a_key_replaces_it() -> None:
    """No ON CONFLICT (the CLI would stop on a primary key; without one the later row
    is what a reader sees last) — and no NA from the missing clause trips the replay."""
    files = {
        "supabase/migrations/1_a.sql": "insert into plans (id, stripe_price_id) values "
        "('a', 'price_a_monthly');\n",
        "supabase/migrations/2_b.sql": f"insert into plans (id, stripe_price_id) values "
        f"('a', '{REAL_4GB}');\nupdate plans set stripe_price_id = null where id = 'a' and "
        "stripe_price_id like 'price_test%';\n",
    }
    rep = replay(_writes(files))
    assert _placeholders(files) == {"a": REAL_4GB}
    assert [u["at"] for u in rep.unknown] == ["supabase/migrations/2_b.sql:2"]


def test_drift_compares_the_live_plans_with_what_the_migrations_leave(demo_config) -> None:
    """A later UPDATE that set the live id is no drift; a plan the UPDATE missed is."""
    from datetime import UTC, datetime

    import pandas as pd

    from readiness.checks.registry import CheckInput

    files = {
        "supabase/migrations/1_plans.sql": "insert into public.plans (id, stripe_price_id) "
        "values ('mc-4', 'price_minecraft_4gb'), ('mc-8', 'price_minecraft_8gb');\n",
        "supabase/migrations/2_live.sql": f"update public.plans set stripe_price_id = "
        f"'{REAL_4GB}' where id = 'mc-4';\n",
    }
    live = pd.DataFrame({"id": ["mc-4", "mc-8"], "stripe_price_id": [REAL_4GB, REAL_8GB]})
    inp = CheckInput(
        tables={"code_catalog_writes": _writes(files), "db_plans": live},
        config=demo_config,
        now=datetime.now(UTC),
    )
    all_checks()
    got = {r.resource: r for r in REGISTRY["DB-PLAN-PRICES-MIGRATIONS"].func(inp)}
    assert set(got) == {"plan:mc-8", "plans"}
    assert got["plan:mc-8"].location == "supabase/migrations/1_plans.sql:1"
    assert "leave price_minecraft_8gb" in got["plan:mc-8"].reason


def test_catalogue_statements_that_cannot_be_followed_never_pass(tmp_path) -> None:
    """A broken INSERT into plans may hold placeholders: not verified, never "none left";
    an UPDATE with a filter the facts cannot follow turns a placeholder claim into review."""
    broken = {
        "supabase/migrations/20240101000000_plans.sql": (
            "create table plans (id text primary key, stripe_price_id text);\n"
            "insert into plans (id, stripe_price_id) values ('a' 'price_a_monthly');\n"
        )
    }
    found = _run(tmp_path / "broken", broken)["STRIPE-SEED-PLACEHOLDER"]
    assert [(f.status, f.resource) for f in found] == [(Status.NOT_VERIFIED, "seed")]
    assert "_plans.sql:2" in found[0].reason

    fixed_maybe = {
        "supabase/migrations/20240101000000_plans.sql": (
            "insert into plans (id, stripe_price_id) values ('a', 'price_a_monthly');\n"
            f"update plans set stripe_price_id = '{REAL_4GB}' where id like 'a%';\n"
        )
    }
    found = _run(tmp_path / "maybe", fixed_maybe)["STRIPE-SEED-PLACEHOLDER"]
    assert [f.status for f in found] == [Status.WARN]
    assert found[0].evidence["not_followed"] == ["supabase/migrations/20240101000000_plans.sql:2"]
