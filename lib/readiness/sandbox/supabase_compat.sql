-- The Supabase platform layer for a plain PostgreSQL: what a fresh hosted project has
-- before its first migration (roles, the auth / storage / realtime / extensions /
-- graphql_public / vault schemas, the supabase_realtime publication, the default
-- privileges of public, the extensions enabled by default), so a Supabase project's
-- migrations replay as `supabase db reset` replays them and its RLS can be evaluated
-- outside Supabase. Idempotent; run by a superuser. Table shapes follow Supabase's
-- (auth, storage); function bodies are stand-ins where only the signature matters.
--
-- As on hosted Supabase, migrations run as `postgres`, which is NOT a superuser there:
-- when the bootstrap superuser is someone else (the schema source's scratch server uses
-- supabase_admin), `postgres` is created here without SUPERUSER and without the
-- pg_execute_server_program / pg_read_server_files / pg_write_server_files roles, owns
-- the database (so the public schema) and may act as the API roles. The platform
-- schemas belong to their service roles (supabase_auth_admin, supabase_storage_admin,
-- supabase_realtime_admin): `postgres` may SET ROLE to them but does not inherit their
-- ownership, so ALTER TABLE auth.users fails as on Supabase, while the replay runs the
-- policy and trigger statements supautils lets `postgres` run on those tables
-- (policy_grants, drop_trigger_grants) under the owning role.
DO $$
DECLARE r text;
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
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator NOLOGIN NOINHERIT;
  END IF;
  FOREACH r IN ARRAY ARRAY['supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
      'supabase_realtime_admin', 'supabase_replication_admin', 'supabase_read_only_user',
      'dashboard_user', 'pgbouncer']
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
    END IF;
  END LOOP;
END
$$;
GRANT anon, authenticated, service_role TO postgres WITH ADMIN OPTION;
GRANT anon, authenticated, service_role TO authenticator;
-- SET ROLE only: the replay's supautils stand-in, never inherited ownership
GRANT supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin TO postgres
  WITH INHERIT FALSE, SET TRUE;
ALTER DATABASE postgres OWNER TO postgres;

CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
CREATE SCHEMA IF NOT EXISTS realtime AUTHORIZATION supabase_realtime_admin;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS graphql_public;
CREATE SCHEMA IF NOT EXISTS vault;
ALTER SCHEMA extensions OWNER TO postgres;
ALTER SCHEMA graphql_public OWNER TO supabase_admin;

-- the history table the CLI creates before the first migration (a version is its key)
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
  version text NOT NULL PRIMARY KEY, statements text[], name text
);
ALTER SCHEMA supabase_migrations OWNER TO postgres;
ALTER TABLE supabase_migrations.schema_migrations OWNER TO postgres;

-- --- auth ------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS auth.users (
  instance_id uuid,
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb DEFAULT '{}'::jsonb,
  raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_super_admin boolean,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  phone text UNIQUE DEFAULT NULL,
  phone_confirmed_at timestamptz,
  phone_change text DEFAULT '',
  phone_change_token varchar(255) DEFAULT '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
  email_change_token_current varchar(255) DEFAULT '',
  email_change_confirm_status smallint DEFAULT 0,
  banned_until timestamptz,
  reauthentication_token varchar(255) DEFAULT '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean NOT NULL DEFAULT false,
  deleted_at timestamptz,
  is_anonymous boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_partial_key ON auth.users (email)
  WHERE is_sso_user = false;
CREATE TABLE IF NOT EXISTS auth.identities (
  provider_id text NOT NULL,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  identity_data jsonb NOT NULL,
  provider text NOT NULL,
  last_sign_in_at timestamptz,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  UNIQUE (provider_id, provider)
);
CREATE TABLE IF NOT EXISTS auth.sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  factor_id uuid,
  aal text,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
  instance_id uuid,
  id bigserial PRIMARY KEY,
  token varchar(255) UNIQUE,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid REFERENCES auth.sessions (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS auth.mfa_factors (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  friendly_name text,
  factor_type text NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS auth.audit_log_entries (
  instance_id uuid,
  id uuid PRIMARY KEY,
  payload json,
  created_at timestamptz,
  ip_address varchar(64) NOT NULL DEFAULT ''
);
-- the auth tables have RLS on and no policy, as on Supabase
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.identities ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.audit_log_entries ENABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;

CREATE OR REPLACE FUNCTION auth.email() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text $$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;

-- --- storage ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS storage.buckets (
  id text PRIMARY KEY,
  name text NOT NULL,
  owner uuid,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  public boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text
);
CREATE UNIQUE INDEX IF NOT EXISTS bname ON storage.buckets (name);
CREATE TABLE IF NOT EXISTS storage.objects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket_id text REFERENCES storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  last_accessed_at timestamptz DEFAULT now(),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
  version text,
  owner_id text,
  user_metadata jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS bucketid_objname ON storage.objects (bucket_id, name);
ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION storage.foldername(name text) RETURNS text[]
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT (string_to_array(name, '/'))[1:cardinality(string_to_array(name, '/')) - 1] $$;
CREATE OR REPLACE FUNCTION storage.filename(name text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT (string_to_array(name, '/'))[cardinality(string_to_array(name, '/'))] $$;
CREATE OR REPLACE FUNCTION storage.extension(name text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT reverse(split_part(reverse(storage.filename(name)), '.', 1)) $$;

-- --- realtime --------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS realtime.messages (
  topic text NOT NULL,
  extension text NOT NULL,
  payload jsonb,
  event text,
  private boolean DEFAULT false,
  updated_at timestamp NOT NULL DEFAULT now(),
  inserted_at timestamp NOT NULL DEFAULT now(),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  PRIMARY KEY (id, inserted_at)
);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('realtime.topic', true), '')::text $$;
CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text,
    private boolean DEFAULT true) RETURNS void
  LANGUAGE sql
  AS $$ SELECT NULL::void $$;
CREATE OR REPLACE FUNCTION realtime.broadcast_changes(topic_name text, event_name text,
    operation text, table_name text, table_schema text, new record, old record,
    level text DEFAULT 'ROW') RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN END $$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;
ALTER PUBLICATION supabase_realtime OWNER TO postgres;

ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE auth.identities OWNER TO supabase_auth_admin;
ALTER TABLE auth.sessions OWNER TO supabase_auth_admin;
ALTER TABLE auth.refresh_tokens OWNER TO supabase_auth_admin;
ALTER TABLE auth.mfa_factors OWNER TO supabase_auth_admin;
ALTER TABLE auth.audit_log_entries OWNER TO supabase_auth_admin;
ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
ALTER TABLE realtime.messages OWNER TO supabase_realtime_admin;

-- --- vault (supabase_vault is enabled on every project; a stand-in without encryption) ---
CREATE TABLE IF NOT EXISTS vault.secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text UNIQUE,
  description text NOT NULL DEFAULT '',
  secret text NOT NULL,
  key_id uuid,
  nonce bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE VIEW vault.decrypted_secrets AS
  SELECT s.*, s.secret AS decrypted_secret FROM vault.secrets s;
CREATE OR REPLACE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL,
    new_description text DEFAULT '', new_key_id uuid DEFAULT NULL) RETURNS uuid
  LANGUAGE sql
  AS $$ INSERT INTO vault.secrets (secret, name, description, key_id)
    VALUES (new_secret, new_name, new_description, new_key_id) RETURNING id $$;
CREATE OR REPLACE FUNCTION vault.update_secret(secret_id uuid, new_secret text DEFAULT NULL,
    new_name text DEFAULT NULL, new_description text DEFAULT NULL,
    new_key_id uuid DEFAULT NULL) RETURNS void
  LANGUAGE sql
  AS $$ UPDATE vault.secrets SET secret = coalesce(new_secret, secret),
    name = coalesce(new_name, name), description = coalesce(new_description, description)
    WHERE id = secret_id $$;

-- --- privileges, as a fresh project has them ---------------------------------------------
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA auth, storage, realtime TO anon, authenticated, service_role, postgres,
  dashboard_user, supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin;
GRANT USAGE ON SCHEMA public, extensions TO supabase_auth_admin, supabase_storage_admin,
  supabase_realtime_admin;
GRANT USAGE ON SCHEMA graphql_public TO anon, authenticated, service_role, postgres;
GRANT USAGE ON SCHEMA vault TO postgres, service_role;
-- migrations reference auth.users, put triggers on it and read storage, as on Supabase
GRANT ALL ON ALL TABLES IN SCHEMA auth TO postgres, dashboard_user;
GRANT ALL ON ALL SEQUENCES IN SCHEMA auth TO postgres, dashboard_user;
GRANT ALL ON ALL TABLES IN SCHEMA storage TO postgres, anon, authenticated, service_role;
GRANT ALL ON ALL TABLES IN SCHEMA realtime TO postgres, anon, authenticated, service_role;
GRANT ALL ON ALL TABLES IN SCHEMA vault TO postgres, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA vault TO postgres, service_role;
-- the objects migrations create belong to postgres: its defaults are Supabase's
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;

-- --- extensions --------------------------------------------------------------------------
-- supautils' privileged_extensions: the replay creates these for `postgres` through this
-- function when a migration asks (only these names; never file_fdw, dblink, ...)
CREATE SCHEMA IF NOT EXISTS _readiness;
REVOKE ALL ON SCHEMA _readiness FROM PUBLIC;
GRANT USAGE ON SCHEMA _readiness TO postgres;
CREATE OR REPLACE FUNCTION _readiness.create_extension(ext text, target text, cascade boolean)
  RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
  AS $$
BEGIN
  IF ext <> ALL (ARRAY['vector', 'moddatetime', 'pg_trgm', 'citext', 'hstore', 'btree_gin',
      'btree_gist', 'cube', 'earthdistance', 'fuzzystrmatch', 'intarray', 'isn', 'ltree',
      'seg', 'tablefunc', 'tcn', 'unaccent', 'insert_username', 'autoinc', 'refint',
      'dict_int', 'dict_xsyn', 'bloom', 'tsm_system_rows', 'tsm_system_time', 'lo',
      'pg_stat_statements']) THEN
    RAISE EXCEPTION 'permission denied to create extension "%"', ext;
  END IF;
  EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I', ext, target)
    || CASE WHEN cascade THEN ' CASCADE' ELSE '' END;
END
$$;
REVOKE ALL ON FUNCTION _readiness.create_extension(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _readiness.create_extension(text, text, boolean) TO postgres;

-- Enabled on every project: pgcrypto, uuid-ossp, pg_stat_statements (pg_graphql and
-- supabase_vault are not shipped here). Created in the extensions schema when this server
-- has them; where it does not, stand-ins with the same signatures, so the functions
-- migrations call exist (their results are not cryptographic).
DO $$
DECLARE ext text;
BEGIN
  FOREACH ext IN ARRAY ARRAY['pgcrypto', 'uuid-ossp', 'pg_stat_statements']
  LOOP
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ext) THEN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA extensions', ext);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'uuid_generate_v4') THEN
    CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid
      LANGUAGE sql VOLATILE AS 'SELECT gen_random_uuid()';
    CREATE FUNCTION extensions.uuid_generate_v1() RETURNS uuid
      LANGUAGE sql VOLATILE AS 'SELECT gen_random_uuid()';
    CREATE FUNCTION extensions.uuid_nil() RETURNS uuid
      LANGUAGE sql IMMUTABLE AS $f$SELECT '00000000-0000-0000-0000-000000000000'::uuid$f$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'gen_random_bytes') THEN
    CREATE FUNCTION extensions.gen_random_bytes(integer) RETURNS bytea
      LANGUAGE sql VOLATILE AS $f$
        SELECT coalesce(decode(string_agg(lpad(to_hex(floor(random() * 256)::int), 2, '0'), ''),
          'hex'), '\x'::bytea) FROM generate_series(1, $1) $f$;
    CREATE FUNCTION extensions.digest(bytea, text) RETURNS bytea
      LANGUAGE sql IMMUTABLE STRICT AS $f$
        SELECT CASE lower($2) WHEN 'md5' THEN decode(md5($1), 'hex')
          WHEN 'sha224' THEN sha224($1) WHEN 'sha384' THEN sha384($1)
          WHEN 'sha512' THEN sha512($1) ELSE sha256($1) END $f$;
    CREATE FUNCTION extensions.digest(text, text) RETURNS bytea
      LANGUAGE sql IMMUTABLE STRICT AS 'SELECT extensions.digest(convert_to($1, ''UTF8''), $2)';
    CREATE FUNCTION extensions.hmac(bytea, bytea, text) RETURNS bytea
      LANGUAGE sql IMMUTABLE STRICT AS 'SELECT extensions.digest($2 || $1, $3)';
    CREATE FUNCTION extensions.hmac(text, text, text) RETURNS bytea
      LANGUAGE sql IMMUTABLE STRICT
      AS 'SELECT extensions.hmac(convert_to($1, ''UTF8''), convert_to($2, ''UTF8''), $3)';
    CREATE FUNCTION extensions.gen_salt(text) RETURNS text
      LANGUAGE sql VOLATILE STRICT
      AS $f$SELECT '$2a$06$' || encode(extensions.gen_random_bytes(16), 'hex')$f$;
    CREATE FUNCTION extensions.gen_salt(text, integer) RETURNS text
      LANGUAGE sql VOLATILE STRICT AS 'SELECT extensions.gen_salt($1)';
    CREATE FUNCTION extensions.crypt(text, text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT AS $f$SELECT $2 || encode(sha256(convert_to($1, 'UTF8')), 'hex')$f$;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA extensions TO postgres, anon, authenticated,
  service_role;
