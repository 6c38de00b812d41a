import type { Db } from '../../store/database.js';
import type { Row } from '../network/repository.js';

/**
 * `/loadbalancers/{id}/status`: Octavia's status tree, balancer -> listeners -> the pools they route to (by
 * default or by L7 policy) -> members and health monitor, each with its two statuses.
 */
export async function statusTree(db: Db, loadBalancerId: string): Promise<unknown> {
  const select = (table: string) => db.selectFrom(table).selectAll().where('load_balancer_id', '=', loadBalancerId).orderBy('created_at').orderBy('id').execute() as Promise<Row[]>;
  const lb = (await db.selectFrom('load_balancers').selectAll().where('id', '=', loadBalancerId).executeTakeFirstOrThrow()) as Row;
  const [listeners, pools, members, monitors, policies] = await Promise.all([
    select('lb_listeners'),
    select('lb_pools'),
    select('lb_members'),
    select('lb_health_monitors'),
    select('lb_l7policies'),
  ]);
  const statuses = (r: Row) => ({ provisioning_status: r.provisioning_status, operating_status: r.operating_status });
  const poolStatus = (pool: Row) => {
    const monitor = monitors.find((m) => m.pool_id === pool.id);
    return {
      id: pool.id,
      name: pool.name,
      ...statuses(pool),
      ...(monitor ? { health_monitor: { id: monitor.id, name: monitor.name, type: monitor.type, ...statuses(monitor) } } : {}),
      members: members
        .filter((m) => m.pool_id === pool.id)
        .map((m) => ({ id: m.id, name: m.name, ...statuses(m), address: m.address, protocol_port: Number(m.protocol_port) })),
    };
  };
  return {
    statuses: {
      loadbalancer: {
        id: lb.id,
        name: lb.name,
        ...statuses(lb),
        listeners: listeners.map((l) => {
          const poolIds = new Set([l.default_pool_id, ...policies.filter((p) => p.listener_id === l.id).map((p) => p.redirect_pool_id)].filter(Boolean));
          return { id: l.id, name: l.name, ...statuses(l), pools: pools.filter((p) => poolIds.has(p.id)).map(poolStatus) };
        }),
      },
    },
  };
}

export interface StatsBody {
  active_connections: number;
  bytes_in: number;
  bytes_out: number;
  request_errors: number;
  total_connections: number;
}

/** Listener counters as the last health reports left them, summed over `column` = `id` (a listener or a balancer). */
export async function statistics(db: Db, column: 'listener_id' | 'load_balancer_id', id: string): Promise<StatsBody> {
  const rows = (await db.selectFrom('lb_listener_stats').selectAll().where(column, '=', id).execute()) as Row[];
  const sum = (key: keyof StatsBody) => rows.reduce((n, r) => n + Number(r[key]), 0);
  return {
    active_connections: sum('active_connections'),
    bytes_in: sum('bytes_in'),
    bytes_out: sum('bytes_out'),
    request_errors: sum('request_errors'),
    total_connections: sum('total_connections'),
  };
}
