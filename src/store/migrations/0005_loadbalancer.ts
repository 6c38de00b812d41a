import type { CreateTableBuilder } from 'kysely';
import type { Db } from '../database.js';

// Octavia's objects. Every child row carries its balancer's id (and project) so that the balancer's whole tree,
// and the lifecycle steps that move all of its PENDING_* objects at once, are one query per table.
// Booleans are integer 0/1, timestamps ISO-8601 text, lists and dictionaries JSON text, as in 0003.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Table = CreateTableBuilder<any, any>;

/** Columns every balancer object has: identity, ownership, Octavia's two statuses and timestamps. */
function lbObject(table: Table, parent: boolean): Table {
  let t = table
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull());
  if (parent) t = t.addColumn('load_balancer_id', 'text', (c) => c.notNull().references('load_balancers.id'));
  return t
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('provisioning_status', 'text', (c) => c.notNull())
    .addColumn('operating_status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text');
}

export async function up(db: Db): Promise<void> {
  await lbObject(db.schema.createTable('load_balancers'), false)
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('vip_address', 'text')
    .addColumn('vip_port_id', 'text')
    .addColumn('vip_subnet_id', 'text')
    .addColumn('vip_network_id', 'text')
    .addColumn('vip_qos_policy_id', 'text')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('flavor_id', 'text')
    .addColumn('topology', 'text', (c) => c.notNull())
    .addColumn('availability_zone', 'text')
    // Why the last provisioning failed (cloudnet's own, for operators; not on Octavia's wire).
    .addColumn('provisioning_error', 'text')
    .execute();
  await db.schema.createIndex('load_balancers_project').on('load_balancers').column('project_id').execute();

  await lbObject(db.schema.createTable('lb_listeners'), true)
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('protocol_port', 'integer', (c) => c.notNull())
    .addColumn('connection_limit', 'integer', (c) => c.notNull())
    .addColumn('default_pool_id', 'text')
    .addColumn('default_tls_container_ref', 'text')
    .addColumn('sni_container_refs', 'text', (c) => c.notNull())
    .addColumn('insert_headers', 'text', (c) => c.notNull())
    .addColumn('timeout_client_data', 'integer', (c) => c.notNull())
    .addColumn('timeout_member_connect', 'integer', (c) => c.notNull())
    .addColumn('timeout_member_data', 'integer', (c) => c.notNull())
    .addColumn('timeout_tcp_inspect', 'integer', (c) => c.notNull())
    .addColumn('allowed_cidrs', 'text', (c) => c.notNull())
    .addColumn('tls_ciphers', 'text')
    .addColumn('tls_versions', 'text')
    .addColumn('alpn_protocols', 'text')
    .addColumn('client_ca_tls_container_ref', 'text')
    .addColumn('client_authentication', 'text', (c) => c.notNull())
    .addColumn('client_crl_container_ref', 'text')
    .execute();
  await db.schema.createIndex('lb_listeners_lb').on('lb_listeners').column('load_balancer_id').execute();
  await db.schema.createIndex('lb_listeners_project').on('lb_listeners').column('project_id').execute();

  await lbObject(db.schema.createTable('lb_pools'), true)
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('lb_algorithm', 'text', (c) => c.notNull())
    .addColumn('session_persistence', 'text')
    .addColumn('tls_enabled', 'integer', (c) => c.notNull())
    .addColumn('tls_container_ref', 'text')
    .addColumn('ca_tls_container_ref', 'text')
    .addColumn('crl_container_ref', 'text')
    .addColumn('tls_ciphers', 'text')
    .addColumn('tls_versions', 'text')
    .addColumn('alpn_protocols', 'text')
    .execute();
  await db.schema.createIndex('lb_pools_lb').on('lb_pools').column('load_balancer_id').execute();
  await db.schema.createIndex('lb_pools_project').on('lb_pools').column('project_id').execute();

  await lbObject(db.schema.createTable('lb_members'), true)
    .addColumn('pool_id', 'text', (c) => c.notNull().references('lb_pools.id'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('protocol_port', 'integer', (c) => c.notNull())
    .addColumn('weight', 'integer', (c) => c.notNull())
    .addColumn('backup', 'integer', (c) => c.notNull())
    .addColumn('subnet_id', 'text')
    .addColumn('monitor_address', 'text')
    .addColumn('monitor_port', 'integer')
    .execute();
  await db.schema.createIndex('lb_members_pool_address').on('lb_members').columns(['pool_id', 'address', 'protocol_port']).unique().execute();
  await db.schema.createIndex('lb_members_lb').on('lb_members').column('load_balancer_id').execute();
  await db.schema.createIndex('lb_members_project').on('lb_members').column('project_id').execute();

  await lbObject(db.schema.createTable('lb_health_monitors'), true)
    .addColumn('pool_id', 'text', (c) => c.notNull().unique().references('lb_pools.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('delay', 'integer', (c) => c.notNull())
    .addColumn('timeout', 'integer', (c) => c.notNull())
    .addColumn('max_retries', 'integer', (c) => c.notNull())
    .addColumn('max_retries_down', 'integer', (c) => c.notNull())
    .addColumn('http_method', 'text')
    .addColumn('url_path', 'text')
    .addColumn('expected_codes', 'text')
    .addColumn('http_version', 'double precision')
    .addColumn('domain_name', 'text')
    .execute();
  await db.schema.createIndex('lb_health_monitors_lb').on('lb_health_monitors').column('load_balancer_id').execute();
  await db.schema.createIndex('lb_health_monitors_project').on('lb_health_monitors').column('project_id').execute();

  await lbObject(db.schema.createTable('lb_l7policies'), true)
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('listener_id', 'text', (c) => c.notNull().references('lb_listeners.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('redirect_pool_id', 'text')
    .addColumn('redirect_url', 'text')
    .addColumn('redirect_prefix', 'text')
    .addColumn('redirect_http_code', 'integer')
    .execute();
  await db.schema.createIndex('lb_l7policies_listener').on('lb_l7policies').column('listener_id').execute();
  await db.schema.createIndex('lb_l7policies_lb').on('lb_l7policies').column('load_balancer_id').execute();

  await lbObject(db.schema.createTable('lb_l7rules'), true)
    .addColumn('l7policy_id', 'text', (c) => c.notNull().references('lb_l7policies.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('compare_type', 'text', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('invert', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('lb_l7rules_policy').on('lb_l7rules').column('l7policy_id').execute();
  await db.schema.createIndex('lb_l7rules_lb').on('lb_l7rules').column('load_balancer_id').execute();

  // Summed over the balancer's amphorae at each health report; what `/stats` answers.
  await db.schema
    .createTable('lb_listener_stats')
    .addColumn('listener_id', 'text', (c) => c.primaryKey())
    .addColumn('load_balancer_id', 'text', (c) => c.notNull())
    .addColumn('active_connections', 'bigint', (c) => c.notNull())
    .addColumn('total_connections', 'bigint', (c) => c.notNull())
    .addColumn('bytes_in', 'bigint', (c) => c.notNull())
    .addColumn('bytes_out', 'bigint', (c) => c.notNull())
    .addColumn('request_errors', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('lb_listener_stats_lb').on('lb_listener_stats').column('load_balancer_id').execute();

  await db.schema
    .createTable('lb_flavor_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('provider_name', 'text', (c) => c.notNull())
    .addColumn('flavor_data', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('lb_flavors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('flavor_profile_id', 'text', (c) => c.notNull().references('lb_flavor_profiles.id'))
    .execute();

  await db.schema
    .createTable('lb_quotas')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('quota_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('lb_quotas_pk', ['project_id', 'resource'])
    .execute();

  // Octavia's amphora record plus cloudnet's own: the host the VM runs on, the agent's last heartbeat and
  // health report, the target revision it has applied, and whether a failover was asked for.
  await db.schema
    .createTable('amphorae')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('loadbalancer_id', 'text')
    .addColumn('compute_id', 'text')
    .addColumn('lb_network_ip', 'text')
    .addColumn('vrrp_ip', 'text')
    .addColumn('ha_ip', 'text')
    .addColumn('vrrp_port_id', 'text')
    .addColumn('ha_port_id', 'text')
    .addColumn('cert_expiration', 'text')
    .addColumn('cert_busy', 'integer', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('vrrp_interface', 'text')
    .addColumn('vrrp_id', 'integer')
    .addColumn('vrrp_priority', 'integer')
    .addColumn('cached_zone', 'text')
    .addColumn('image_id', 'text')
    .addColumn('compute_flavor', 'text')
    .addColumn('host', 'text')
    .addColumn('heartbeat_at', 'text')
    .addColumn('health', 'text')
    .addColumn('applied_config_revision', 'bigint')
    .addColumn('failover_requested', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text')
    .execute();
  await db.schema.createIndex('amphorae_lb').on('amphorae').column('loadbalancer_id').execute();
}
