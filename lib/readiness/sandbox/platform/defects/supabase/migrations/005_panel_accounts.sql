-- Panel logins shown on the dashboard, and a queue of servers waiting to be built.
create table if not exists public.panel_accounts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  pterodactyl_user_id integer not null,
  panel_username text,
  updated_at timestamptz not null default now()
);
alter table public.panel_accounts enable row level security;

create policy "see own panel login" on public.panel_accounts
  for select to authenticated using (user_id = auth.uid());

-- The settings page saves the username the customer picked.
create policy "edit own panel login" on public.panel_accounts
  for update to authenticated
  using (user_id = auth.uid())
  with check (user_id = auth.uid());

create table if not exists public.server_requests (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id),
  plan_id text not null references public.plans (id),
  server_name text not null,
  status text not null default 'queued'
    check (status in ('queued', 'paid', 'built', 'error')),
  created_at timestamptz not null default now()
);
alter table public.server_requests enable row level security;

create policy "queue own server" on public.server_requests
  for insert to authenticated with check (user_id = auth.uid());

create policy "see own queue" on public.server_requests
  for select to authenticated using (user_id = auth.uid());

create index if not exists server_requests_user_id_idx on public.server_requests (user_id);
create index if not exists server_requests_plan_id_idx on public.server_requests (plan_id);
