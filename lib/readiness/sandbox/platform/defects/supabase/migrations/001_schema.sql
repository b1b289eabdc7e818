-- Core tables of the hosting platform.
create table if not exists public.plans (
  id text primary key,
  item_type text not null default 'game' check (item_type in ('game', 'addon')),
  game text,
  ram_gb integer check (ram_gb > 0),
  term text not null default 'monthly' check (term in ('monthly', 'quarterly', 'yearly')),
  price_cents integer not null check (price_cents >= 0),
  currency text not null default 'usd',
  stripe_price_id text,
  egg_id integer,
  display_name text,
  active boolean not null default true,
  created_at timestamptz not null default now()
);

create table if not exists public.ptero_nodes (
  id integer primary key,
  name text not null,
  region text not null,
  enabled boolean not null default true,
  max_ram_gb integer not null check (max_ram_gb > 0),
  reserved_headroom_gb integer not null default 0 check (reserved_headroom_gb >= 0),
  panel_node_id integer not null unique,
  created_at timestamptz not null default now()
);

create table if not exists public.external_accounts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  pterodactyl_user_id integer not null unique,
  panel_email text,
  created_at timestamptz not null default now()
);

create table if not exists public.orders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  plan_id text not null references public.plans (id),
  status text not null default 'pending'
    check (status in ('pending', 'paid', 'provisioning', 'installing', 'provisioned',
                      'active', 'error', 'canceled', 'refunded')),
  region text not null,
  term text not null default 'monthly',
  server_name text,
  stripe_checkout_session_id text,
  stripe_subscription_id text,
  stripe_customer_id text,
  pterodactyl_server_id integer,
  node_id integer references public.ptero_nodes (id),
  amount_cents integer,
  currency text not null default 'usd',
  error_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists orders_stripe_subscription_id_idx
  on public.orders (stripe_subscription_id);
create index if not exists orders_user_id_idx on public.orders (user_id);
create index if not exists orders_plan_id_idx on public.orders (plan_id);
create index if not exists orders_node_id_idx on public.orders (node_id);
create index if not exists ptero_nodes_region_idx on public.ptero_nodes (region) where enabled;
