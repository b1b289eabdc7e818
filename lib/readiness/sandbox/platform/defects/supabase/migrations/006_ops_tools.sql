-- Operations tools added before launch: automatic provisioning retries, SFTP logins shown
-- on the dashboard, and a one-time admin setup for the first operator.

-- Every ten minutes, orders left in 'error' are handed to servers-provision again.
create or replace function public.retry_failed_provisioning() returns void
  language plpgsql security definer set search_path = public
as $$
declare
  failed record;
begin
  for failed in select id from public.orders where status = 'error' limit 20 loop
    perform net.http_post(
      url := current_setting('app.settings.supabase_url') || '/functions/v1/servers-provision',
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || current_setting('app.settings.service_role_key')
      ),
      body := jsonb_build_object('orderId', failed.id)
    );
  end loop;
end
$$;
revoke execute on function public.retry_failed_provisioning() from public, anon, authenticated;

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule(
      'retry-failed-provisioning', '*/10 * * * *', 'select public.retry_failed_provisioning()'
    );
  end if;
end
$$;

-- SFTP logins of each server, shown on the dashboard.
create table if not exists public.server_logins (
  order_id uuid primary key,
  user_id uuid not null,
  sftp_username text not null,
  sftp_password_b64 text not null,
  created_at timestamptz not null default now()
);
create index if not exists server_logins_user_id_idx on public.server_logins (user_id);
alter table public.server_logins enable row level security;
create policy "dashboard reads logins" on public.server_logins
  for select to authenticated using (true);

create or replace function public.save_sftp_login(p_order_id uuid, p_username text, p_password text)
  returns void
  language plpgsql security definer set search_path = public
as $$
begin
  insert into public.server_logins (order_id, user_id, sftp_username, sftp_password_b64)
  select o.id, o.user_id, p_username, encode(convert_to(p_password, 'UTF8'), 'base64')
  from public.orders o where o.id = p_order_id;
end
$$;
revoke execute on function public.save_sftp_login(uuid, text, text) from public, anon, authenticated;

-- Operator roles; the first operator claims admin from the dashboard once.
create table if not exists public.user_roles (
  user_id uuid primary key references auth.users (id),
  role text not null check (role in ('admin', 'support'))
);
alter table public.user_roles enable row level security;
create policy "read own role" on public.user_roles
  for select to authenticated using (auth.uid() = user_id);

create or replace function public.claim_first_admin() returns void
  language plpgsql security definer set search_path = public
as $$
begin
  if (select count(*) from public.user_roles where role = 'admin') = 0 then
    insert into public.user_roles (user_id, role) values (auth.uid(), 'admin');
  end if;
end
$$;
