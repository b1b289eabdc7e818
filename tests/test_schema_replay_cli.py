"""Migrations replayed as `supabase db reset` replays them, on the real scratch PostgreSQL:
the CLI's file selection and order, one finding for the first failure with its cascades
folded in, duplicate versions, and a fresh project's platform objects replaying clean.
Histories are written here in the styles met in public projects (Supabase CLI, pg_dump,
hand-written with non-ASCII comments)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.config import load_config
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.schema import collect_schema

REPO = Path(__file__).resolve().parents[1]
MIG = "supabase/migrations"


def _config(checkout: Path):
    base = load_config(REPO / "params" / "demo.yaml")
    sources = base.sources.model_copy(
        update={
            "codebase": base.sources.codebase.model_copy(update={"path": checkout}),
            "schema_": base.sources.schema_.model_copy(update={"mode": "migrations"}),
        }
    )
    return base.model_copy(update={"sources": sources})


def _replay(tmp_path: Path, files: dict[str, str]):
    folder = tmp_path / MIG
    folder.mkdir(parents=True)
    for name, sql in files.items():
        (folder / name).write_text(textwrap.dedent(sql), encoding="utf-8")
    config = _config(tmp_path)
    result = collect_schema(config, config.secrets())
    all_checks()
    snap = Snapshot(
        datetime(2026, 11, 26, tzinfo=UTC), {"schema": SourceState("schema", "ok")}, result.tables
    )
    findings = evaluate_check(REGISTRY["CODE-MIGRATIONS-REPLAY"], snap, config)
    return result.tables, findings


def _by_status(findings) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(str(f.status), []).append(f)
    return out


def test_first_failing_file_is_one_finding_with_its_cascades_folded(tmp_path):
    tables, findings = _replay(
        tmp_path,
        {
            # hand-written, French comments, an em-dash and an emoji before the statement
            "20240101000000_commandes.sql": """
            -- Création des commandes — après les clients 🚀 (l'auteur l'a cru)
            create table public.orders (
              id uuid primary key default gen_random_uuid(),
              customer_id uuid not null references public.customers (id), -- « client »
              note text default 'déjà payé'
            );
            create index orders_customer_idx on public.orders (customer_id);
            alter table public.orders enable row level security;
            create policy "own" on public.orders for select using (auth.uid() = customer_id);
            comment on table public.unknown_things is 'independent problem';
            """,
            "20240102000000_customers.sql": """
            create table public.customers (id uuid primary key references auth.users (id));
            """,
            "20240103000000_more.sql": "alter table public.orders add column total int;",
        },
    )
    got = _by_status(findings)
    assert list(got) == ["fail"], [(f.status, f.resource, f.reason) for f in findings]
    (fail,) = got["fail"]
    assert fail.location == f"{MIG}/20240101000000_commandes.sql:3"
    assert 'relation "public.customers" does not exist' in fail.reason
    assert "2 later migration file(s) are never applied" in fail.reason
    assert fail.evidence["later_failures"] == 5
    # the failure no missing object explains is listed before the cascades
    assert "unknown_things" in fail.evidence["later"][0]
    files = tables["schema_migration_files"]
    assert list(files["status"]) == ["failed", "not_applied", "not_applied"]
    m = tables["schema_migrations"]
    bad = m[~m["ok"].astype(bool)]
    assert bad["cascade"].astype(bool).tolist() == [False, True, True, True, True, True]
    # best-effort continuation: the later files still reach the schema checks
    assert "customers" in set(tables["schema_tables"]["table"])


def test_files_the_cli_skips_are_reported_once_and_never_applied(tmp_path):
    tables, findings = _replay(
        tmp_path,
        {
            "20240101000000_base.sql": "create table public.base (id int primary key);",
            "20240102120000-5f1c-uuid-style.sql": "create table public.hyphen (id int unique);",
            "schema.sql": "create table public.loose (id int);",
            "README.md": "# not a migration",
            "20240103000000_last.sql": """
            create table public.last (id int primary key references public.hyphen (id));
            alter table public.last enable row level security;
            """,
        },
    )
    got = _by_status(findings)
    assert set(got) == {"warn", "fail"}, [(f.status, f.reason) for f in findings]
    (warn,) = got["warn"]
    assert warn.resource == "migrations:skipped"
    assert warn.evidence["files"] == [
        f"{MIG}/20240102120000-5f1c-uuid-style.sql",
        f"{MIG}/schema.sql",
    ]
    # as the CLI: the hyphen-named file never ran, so the table it makes does not exist
    (fail,) = got["fail"]
    assert fail.location == f"{MIG}/20240103000000_last.sql:2"
    assert 'relation "public.hyphen" does not exist' in fail.reason
    # the schema checks read the platform as its author applied it (Lovable, dashboard):
    # the file named like a migration is in, the loose schema.sql is not
    names = set(tables["schema_tables"]["table"])
    assert {"base", "hyphen", "last"} <= names and "loose" not in names
    assert tables["schema_info"].iloc[0]["catalog_files"] == 3


def test_two_files_with_one_version_fail_on_the_second(tmp_path):
    _, findings = _replay(
        tmp_path,
        {
            "001_products.sql": "create table public.products (id int primary key);",
            "001_prices.sql": "create table public.prices (id int primary key);",
            "002_more.sql": "create table public.more (id int primary key);",
        },
    )
    got = _by_status(findings)
    (fail,) = got["fail"]
    # name order: 001_prices.sql applies first, the history insert of 001_products fails
    assert fail.location == f"{MIG}/001_products.sql:1"
    assert "version 001 is already used by an earlier file" in fail.reason
    assert "1 later migration file(s) are never applied" in fail.reason


PG_DUMP_STYLE = """
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE EXTENSION IF NOT EXISTS "pgcrypto" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA "extensions";
CREATE TABLE IF NOT EXISTS "public"."profiles" (
    "id" "uuid" NOT NULL REFERENCES "auth"."users" ("id") ON DELETE CASCADE,
    "email" "text",
    "api_key" "text" DEFAULT "encode"("extensions"."gen_random_bytes"(16), 'hex'),
    CONSTRAINT "profiles_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "public"."profiles" OWNER TO "postgres";
ALTER TABLE "public"."profiles" ENABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION "public"."handle_new_user"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER SET "search_path" TO ''
    AS $$ BEGIN INSERT INTO public.profiles (id, email) VALUES (new.id, new.email);
    RETURN new; END $$;
CREATE OR REPLACE TRIGGER "on_auth_user_created" AFTER INSERT ON "auth"."users"
    FOR EACH ROW EXECUTE FUNCTION "public"."handle_new_user"();
CREATE POLICY "own profile" ON "public"."profiles" FOR SELECT TO "authenticated"
    USING (("auth"."uid"() = "id") OR ("auth"."email"() = "email"));
GRANT ALL ON TABLE "public"."profiles" TO "anon";
GRANT ALL ON TABLE "public"."profiles" TO "authenticated";
GRANT ALL ON TABLE "public"."profiles" TO "service_role";
GRANT USAGE ON SCHEMA "public" TO "supabase_auth_admin";
GRANT SELECT ON TABLE "public"."profiles" TO "supabase_auth_admin";
ALTER PUBLICATION "supabase_realtime" OWNER TO "postgres";
"""
CLI_STYLE = """
-- Supabase CLI style: unqualified names, so the pg_dump file's empty search_path must
-- not leak into this file
create table messages (id bigint generated by default as identity primary key,
  body text, user_id uuid references auth.users default auth.uid());
alter publication supabase_realtime add table messages;
insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true)
  on conflict (id) do nothing;
create policy "avatar upload" on storage.objects for insert to authenticated
  with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = auth.uid()::text);
drop policy if exists "avatar upload" on storage.objects;
create policy "avatar upload" on storage.objects for insert to authenticated
  with check (bucket_id = 'avatars');
do $$ begin
  drop policy if exists "avatar read" on storage.objects;
  if not exists (select 1 from pg_policies where policyname = 'avatar read') then
    create policy "avatar read" on storage.objects for select using (bucket_id = 'avatars');
  end if;
end $$;
create policy "room members" on realtime.messages for select to authenticated
  using (realtime.topic() = 'room');
drop trigger if exists on_auth_user_created on auth.users;
create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();
select crypt('x', gen_salt('bf')), uuid_generate_v4(), auth.role(), auth.jwt();
grant usage on schema graphql_public to anon;
grant anon to authenticator;
select vault.create_secret('s3cr3t', 'service_key');
create index messages_body_trgm on messages (body);
-- untrusted extensions supautils creates for postgres, as far as the server ships them
create extension if not exists vector with schema extensions;
create extension if not exists moddatetime schema extensions;
create table documents (id int primary key, embedding extensions.vector(3),
  updated_at timestamptz);
create trigger documents_touch before update on documents
  for each row execute procedure extensions.moddatetime(updated_at);
"""


def test_a_fresh_projects_platform_objects_replay_clean(tmp_path):
    tables, findings = _replay(
        tmp_path,
        {"20240101000000_remote_schema.sql": PG_DUMP_STYLE, "20240102000000_app.sql": CLI_STYLE},
    )
    m = tables["schema_migrations"]
    failed = m[~m["ok"].astype(bool)]
    # only what the embedded server does not ship: the two extensions themselves
    assert list(failed["kind"]) == ["CreateExtensionStmt", "CreateExtensionStmt"], failed[
        ["file", "line", "error"]
    ].to_dict("records")
    got = _by_status(findings)
    assert set(got) == {"not_verified", "pass"}, [(f.status, f.reason) for f in findings]
    assert {"profiles", "messages", "documents"} <= set(tables["schema_tables"]["table"])
    pol = tables["schema_policies"]
    assert "own profile" in set(pol["name"])  # public policies still reach the RLS checks


def test_what_supabase_refuses_on_platform_tables_still_fails(tmp_path):
    _, findings = _replay(
        tmp_path,
        {
            "20240101000000_storage.sql": """
            insert into storage.buckets (id, name) values ('docs', 'docs');
            alter table storage.objects enable row level security;
            """
        },
    )
    (fail,) = _by_status(findings)["fail"]
    assert fail.location == f"{MIG}/20240101000000_storage.sql:3"
    assert "must be owner of table objects" in fail.reason


def test_objects_of_an_extension_the_server_lacks_are_not_verified(tmp_path):
    _, findings = _replay(
        tmp_path,
        {
            "20240101000000_geo.sql": """
            create extension if not exists postgis with schema extensions;
            create table public.spots (id int primary key, geo geography(Point, 4326));
            create index spots_geo_idx on public.spots using gist (geo);
            alter table public.spots enable row level security;
            create policy "read" on public.spots for select using (true);
            select cron.schedule('nightly', '0 3 * * *', 'select 1');
            """,
            "20240102000000_geo_more.sql": """
            alter table public.spots add column area geometry;
            create table public.visits (spot_id int references public.spots (id));
            """,
        },
    )
    got = _by_status(findings)
    assert set(got) == {"not_verified", "pass"}, [(f.status, f.reason) for f in findings]
    assert "8 statement(s) could not be verified" in got["not_verified"][0].reason


@pytest.mark.parametrize(
    "names",
    [
        ("2025_10_03_hotfix.sql", "20251001000000_a.sql", "20251101000000_b.sql"),
    ],
)
def test_a_version_that_sorts_unexpectedly_is_noted(tmp_path, names):
    files = {n: f"create table public.t{i} (id int);" for i, n in enumerate(names)}
    tables, findings = _replay(tmp_path, files)
    notes = [f for f in findings if f.resource == "migrations:order"]
    assert len(notes) == 1 and str(notes[0].status) == "info"
    assert "2025_10_03_hotfix.sql" in notes[0].reason and "applies last" in notes[0].reason
    assert list(tables["schema_migration_files"]["file"])[-1].endswith("2025_10_03_hotfix.sql")


def test_postgresql_18_named_not_null_constraints_never_fail(tmp_path):
    # on Supabase's 15/17 a NOT NULL column has no constraint of that name; on 18 it does
    _, findings = _replay(
        tmp_path,
        {
            "20240101000000_dump.sql": """
            CREATE TABLE public.accounts (id bigint PRIMARY KEY, email text NOT NULL);
            ALTER TABLE public.accounts
              ADD CONSTRAINT accounts_email_not_null CHECK (email IS NOT NULL);
            ALTER TABLE public.accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
            """
        },
    )
    got = _by_status(findings)
    assert set(got) == {"not_verified", "pass"}, [(f.status, f.reason) for f in findings]
    assert "accounts_email_not_null" in got["not_verified"][0].reason
