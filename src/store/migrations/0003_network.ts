import type { Db } from '../database.js';

// Neutron's resources. Booleans are integer 0/1 in both dialects so the same rows read the same everywhere;
// timestamps are ISO-8601 text; list-valued attributes that are never queried on are JSON text.

export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('networks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('router_external', 'integer', (c) => c.notNull())
    .addColumn('mtu', 'integer', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('provider_network_type', 'text', (c) => c.notNull())
    .addColumn('provider_physical_network', 'text')
    .addColumn('provider_segmentation_id', 'integer')
    .addColumn('dns_domain', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('networks_project').on('networks').column('project_id').execute();
  // A VXLAN VNI belongs to one network, and a physical network carries at most one flat network.
  await db.schema
    .createIndex('networks_vni')
    .on('networks')
    .columns(['provider_network_type', 'provider_segmentation_id'])
    .unique()
    .where('provider_network_type', '=', 'vxlan')
    .execute();
  await db.schema
    .createIndex('networks_flat_physnet')
    .on('networks')
    .columns(['provider_network_type', 'provider_physical_network'])
    .unique()
    .where('provider_network_type', '=', 'flat')
    .execute();

  await db.schema
    .createTable('subnets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('gateway_ip', 'text')
    .addColumn('allocation_pools', 'text', (c) => c.notNull())
    .addColumn('dns_nameservers', 'text', (c) => c.notNull())
    .addColumn('host_routes', 'text', (c) => c.notNull())
    .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
    .addColumn('ipv6_ra_mode', 'text')
    .addColumn('ipv6_address_mode', 'text')
    .addColumn('subnetpool_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('subnets_network').on('subnets').column('network_id').execute();
  await db.schema.createIndex('subnets_project').on('subnets').column('project_id').execute();

  await db.schema
    .createTable('ports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('mac_address', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('device_owner', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('allowed_address_pairs', 'text', (c) => c.notNull())
    .addColumn('binding_host_id', 'text', (c) => c.notNull())
    .addColumn('binding_vnic_type', 'text', (c) => c.notNull())
    .addColumn('binding_profile', 'text', (c) => c.notNull())
    .addColumn('binding_vif_type', 'text', (c) => c.notNull())
    .addColumn('binding_vif_details', 'text', (c) => c.notNull())
    .addColumn('dns_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ports_network_mac').on('ports').columns(['network_id', 'mac_address']).unique().execute();
  await db.schema.createIndex('ports_project').on('ports').column('project_id').execute();
  await db.schema.createIndex('ports_device').on('ports').column('device_id').execute();
  await db.schema.createIndex('ports_host').on('ports').column('binding_host_id').execute();

  // One row per fixed IP. The primary key is what makes two concurrent creates unable to take one address.
  await db.schema
    .createTable('ip_allocations')
    .addColumn('subnet_id', 'text', (c) => c.notNull().references('subnets.id'))
    .addColumn('ip_address', 'text', (c) => c.notNull())
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('ip_allocations_pk', ['subnet_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ip_allocations_port').on('ip_allocations').column('port_id').execute();
  await db.schema.createIndex('ip_allocations_ip').on('ip_allocations').column('ip_address').execute();

  await db.schema
    .createTable('security_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('stateful', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('security_groups_project').on('security_groups').column('project_id').execute();
  // The primary key makes "one default group per project" hold even when two servers race to create it.
  await db.schema
    .createTable('default_security_groups')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('security_group_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('ethertype', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', 'text')
    .addColumn('remote_group_id', 'text', (c) => c.references('security_groups.id'))
    .addColumn('remote_address_group_id', 'text')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sg_rules_group').on('security_group_rules').column('security_group_id').execute();
  await db.schema.createIndex('sg_rules_remote_group').on('security_group_rules').column('remote_group_id').execute();

  await db.schema
    .createTable('port_security_groups')
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id'))
    .addPrimaryKeyConstraint('port_security_groups_pk', ['port_id', 'security_group_id'])
    .execute();
  await db.schema.createIndex('port_security_groups_group').on('port_security_groups').column('security_group_id').execute();

  await db.schema
    .createTable('tags')
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['resource_type', 'resource_id', 'tag'])
    .execute();
  await db.schema.createIndex('tags_tag').on('tags').columns(['resource_type', 'tag']).execute();

  await db.schema
    .createTable('quotas')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('quota_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('quotas_pk', ['project_id', 'resource'])
    .execute();
}
