// Dashboard data: the signed-in user's orders that stand for a server, newest first.
// RLS limits rows to the user's own; the status list matches the orders CHECK constraint.
import { useCallback, useEffect, useState } from 'react';
import { supabase, type OrderStatus } from '../lib/supabase';

export const VISIBLE_STATUSES = [
  'paid',
  'running',
  'provisioning',
  'installing',
  'provisioned',
  'active',
  'error',
];

export interface UserServer {
  id: string;
  status: OrderStatus;
  region: string;
  server_name: string | null;
  pterodactyl_server_id: number | null;
  error_message: string | null;
  created_at: string;
  plans: { display_name: string; game: string; ram_gb: number } | null;
}

export function useUserServers(userId: string | null) {
  const [servers, setServers] = useState<UserServer[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    if (!userId) {
      setServers([]);
      return;
    }
    setLoading(true);
    const { data, error: queryError } = await supabase
      .from('orders')
      .select(
        'id, status, region, server_name, pterodactyl_server_id, error_message, created_at, plans(display_name, game, ram_gb)',
      )
      .eq('user_id', userId)
      .in('status', VISIBLE_STATUSES)
      .order('created_at', { ascending: false });
    if (queryError) {
      console.error('could not load servers', queryError);
      setError('Could not load your servers, please refresh');
    } else {
      setError(null);
      setServers((data ?? []) as unknown as UserServer[]);
    }
    setLoading(false);
  }, [userId]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return { servers, loading, error, refresh };
}
