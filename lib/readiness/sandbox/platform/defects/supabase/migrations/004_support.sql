-- Support tickets and an audit log, added for the launch.
create table if not exists public.support_tickets (
  id uuid primary key default gen_random_uuid(),
  order_id uuid references public.orders (id),
  user_id uuid not null references auth.users (id),
  body text not null,
  created_at timestamptz not null default now()
);
create index if not exists support_tickets_user_id_idx on public.support_tickets (user_id);

create table if not exists public.audit_log (
  id bigint generated always as identity primary key,
  action text not null,
  detail jsonb,
  created_at timestamptz not null default now()
);
alter table public.audit_log enable row level security;

-- Moves a paid order to provisioning for the dashboard's retry button.
create or replace function public.claim_order(p_order_id uuid) returns void
  language plpgsql security definer
  as $$
begin
  update orders set status = 'provisioning' where id = p_order_id and status in ('paid', 'error');
end
$$;

create index if not exists support_tickets_status_idx on public.support_tickets (status);
