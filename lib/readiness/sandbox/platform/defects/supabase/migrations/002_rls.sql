-- Row level security: customers read their own rows; writes go through edge functions
-- running with the service role.
alter table public.plans enable row level security;
alter table public.ptero_nodes enable row level security;
alter table public.external_accounts enable row level security;
alter table public.orders enable row level security;

create policy "plans are public" on public.plans
  for select to anon, authenticated using (active);

create policy "enabled regions are visible" on public.ptero_nodes
  for select to authenticated using (enabled);

create policy "read own panel account" on public.external_accounts
  for select to authenticated using (user_id = auth.uid());

create policy "read own orders" on public.orders
  for select to authenticated using (user_id = auth.uid());

-- Lets the dashboard rename a server and retry a failed order.
create policy "update own orders" on public.orders
  for update to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());

-- The sign-up hook links the panel account; the nightly sync job runs without a user.
create policy "link panel account" on public.external_accounts
  for insert with check (user_id = auth.uid() or auth.uid() is null);
