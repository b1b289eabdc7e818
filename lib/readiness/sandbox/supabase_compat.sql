-- A small Supabase compatibility layer for a plain PostgreSQL: the auth schema, the API
-- roles and auth.uid(), so a Supabase project's migrations apply and its RLS policies
-- can be evaluated outside Supabase. Idempotent; run by a superuser.
--
-- As on hosted Supabase, migrations run as `postgres`, which is NOT a superuser there:
-- when the bootstrap superuser is someone else (the schema source's scratch server uses
-- supabase_admin), `postgres` is created here without SUPERUSER and without the
-- pg_execute_server_program / pg_read_server_files / pg_write_server_files roles, owns
-- the database (so the public schema) and may act as the API roles.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS extensions;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'postgres') THEN
    CREATE ROLE postgres LOGIN NOSUPERUSER CREATEROLE CREATEDB BYPASSRLS;
  END IF;
END
$$;
GRANT anon, authenticated, service_role TO postgres WITH ADMIN OPTION;
ALTER DATABASE postgres OWNER TO postgres;
ALTER SCHEMA extensions OWNER TO postgres;

CREATE TABLE IF NOT EXISTS auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE,
  raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.role', true), '')::text $$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, postgres;
-- migrations reference auth.users and put triggers on it, as on Supabase
GRANT ALL ON ALL TABLES IN SCHEMA auth TO postgres;
-- the objects migrations create belong to postgres: its defaults are Supabase's
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;

-- The usual extensions, in the extensions schema as on Supabase, when this server has them;
-- uuid_generate_v4() falls back to the core gen_random_uuid() when uuid-ossp is missing.
DO $$
DECLARE ext text;
BEGIN
  FOREACH ext IN ARRAY ARRAY['pgcrypto', 'uuid-ossp', 'pg_trgm', 'citext', 'moddatetime']
  LOOP
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ext) THEN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA extensions', ext);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'uuid_generate_v4') THEN
    CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid
      LANGUAGE sql VOLATILE AS 'SELECT gen_random_uuid()';
  END IF;
END
$$;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
