-- Server lookup for the support widget: given a customer's id, list their servers with the
-- contact email support replies to. Runs as the owner so it can read the panel accounts.
create or replace function public.get_user_servers(p_user uuid)
  returns table (order_id uuid, server_name text, status text, region text, owner_email text)
  language plpgsql
  stable
  security definer
  set search_path = public
as $$
begin
  return query
    select o.id, o.server_name, o.status, o.region, acct.panel_email
    from public.orders as o
    left join public.external_accounts as acct on acct.user_id = o.user_id
    where o.user_id = p_user
    order by o.created_at desc;
end
$$;

grant execute on function public.get_user_servers(uuid) to anon, authenticated;
