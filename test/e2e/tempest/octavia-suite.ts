/**
 * octavia-tempest-plugin's API tests (`octavia_tempest_plugin.tests.api.v2`, issue 4) against a lab: real amphorae,
 * `test_with_noop = False`. Not part of `npm test` (a module takes minutes); run by octavia-run.ts.
 */
import { PROVIDERS } from '../../../src/server/loadbalancer/schemas.js';
import type { CloudClient } from './cloud.js';
import type { CloudFacts, IniSections } from './config.js';
import type { TempestSuite } from './harness.js';
import type { Exclusion } from './summary.js';

/** The modules of `octavia_tempest_plugin.tests.api.v2`, quickest to set up first. */
export const OCTAVIA_API_MODULES = [
  'test_provider',
  'test_flavor_capabilities',
  'test_flavor_profile',
  'test_flavor',
  'test_availability_zone_capabilities',
  'test_availability_zone_profile',
  'test_availability_zone',
  'test_load_balancer',
  'test_listener',
  'test_pool',
  'test_member',
  'test_healthmonitor',
  'test_l7policy',
  'test_l7rule',
  'test_amphora',
];

export const OCTAVIA_API_PACKAGE = 'octavia_tempest_plugin.tests.api.v2';

/**
 * The plugin's own networks (it creates a VIP network and two member networks per class, as lb_member): inside
 * 198.18.0.0/15, clear of the harness's project range 198.18.0.0/16 and the lab's public 198.19.255.0/24.
 */
export const OCTAVIA_SUBNETS = {
  vip: '198.19.101.0/24',
  member1: '198.19.102.0/24',
  member2: '198.19.103.0/24',
  vip6: 'fd00:19:101::/64',
  member16: 'fd00:19:102::/64',
  member26: 'fd00:19:103::/64',
};

/** The lab's flat external network, which the lab made; tempest needs its id (the plugin's skip_checks asks for one). */
export async function findPublicNetwork(admin: CloudClient): Promise<Partial<CloudFacts>> {
  const { networks } = await admin.ok('GET', '/network/v2.0/networks?name=public');
  const network = (networks as { id: string; name: string }[])[0];
  if (!network) throw new Error('the lab has no network named public');
  return { publicNetworkId: network.id, publicNetworkName: network.name };
}

/**
 * `[load_balancer]` and friends. What cloudnet implements decides each value: roles as Octavia's default policy
 * before the new Keystone defaults (`enforce_new_defaults = False`: no system scope, the Keystone `admin` is the
 * cloud admin, `load-balancer_member` alone grants a member's rights), the amphora provider and its alias,
 * ACTIVE_STANDBY. `advanced` runs the plugin's checks of that policy; `none` runs the same tests without them.
 */
export type RbacTestType = 'advanced' | 'none';

/**
 * Zone names for the plugin's availability zone tests (profiles and zones are created by the tests themselves).
 * The lab's hosts have no zones: a profile's compute_zone is recorded, not used for placement.
 */
export const OCTAVIA_ZONES = ['cn-zone-a', 'cn-zone-b', 'cn-zone-c'];

export function octaviaConf(adminPassword: string, rbac: RbacTestType): IniSections {
  return {
    // Dynamic credentials: pre-provisioned accounts are matched by a subset of roles, so tempest may hand the plugin's
    // `primary` (expected to be refused) an account holding load-balancer_member. tempest makes each class's users
    // and projects with exactly the roles the plugin asks for, as the cloud admin, and deletes them after.
    auth: {
      use_dynamic_credentials: true,
      admin_username: 'admin',
      admin_password: adminPassword,
      admin_project_name: 'admin',
      admin_domain_name: 'Default',
      // With enforce_new_defaults False the plugin's lb_member holds load-balancer_member alone, but makes its VIP and
      // member networks with it; cloudnet's Network API (as Neutron's new defaults) wants `member` to create them.
      // `member` grants nothing in the LB API, so every account gets it.
      tempest_roles: ['member'],
    },
    service_available: {
      load_balancer: true,
      // With test_with_noop False the plugin skips every class unless compute and image say they are there; the API
      // tests boot no servers (only the scenario tests do), the amphorae are the lab's VMs.
      nova: true,
      glance: true,
      barbican: false,
    },
    load_balancer: {
      catalog_type: 'load-balancer',
      endpoint_type: 'publicURL',
      test_with_noop: false,
      provider: 'amphora',
      enabled_provider_drivers: PROVIDERS.map((p) => `${p.name}:${p.description}`),
      loadbalancer_topology: 'ACTIVE_STANDBY',
      build_interval: 1,
      build_timeout: 120,
      check_interval: 1,
      check_timeout: 60,
      lb_build_interval: 2,
      lb_build_timeout: 120,
      member_role: 'load-balancer_member',
      admin_role: 'load-balancer_admin',
      observer_role: 'load-balancer_observer',
      global_observer_role: 'load-balancer_global_observer',
      RBAC_test_type: rbac,
      enforce_new_defaults: false,
      availability_zone: OCTAVIA_ZONES[0],
      availability_zone2: OCTAVIA_ZONES[1],
      availability_zone3: OCTAVIA_ZONES[2],
      test_with_ipv6: true,
      vip_subnet_cidr: OCTAVIA_SUBNETS.vip,
      member_1_ipv4_subnet_cidr: OCTAVIA_SUBNETS.member1,
      member_2_ipv4_subnet_cidr: OCTAVIA_SUBNETS.member2,
      vip_ipv6_subnet_cidr: OCTAVIA_SUBNETS.vip6,
      member_1_ipv6_subnet_cidr: OCTAVIA_SUBNETS.member16,
      member_2_ipv6_subnet_cidr: OCTAVIA_SUBNETS.member26,
      // No subnet pools here: the plugin would take the VIP's IPv6 subnet from devstack's default pool.
      default_ipv6_subnetpool: '',
    },
    'loadbalancer-feature-enabled': {
      not_implemented_is_error: false,
      health_monitor_enabled: true,
      terminated_tls_enabled: false,
      l7_protocol_enabled: true,
      pool_algorithms_enabled: true,
      l4_protocol: 'TCP',
      session_persistence_enabled: true,
      spare_pool_enabled: false,
      log_offload_enabled: false,
    },
    enforce_scope: { octavia: false },
  };
}

/** `exclude`: tests left out of this run (octavia-run.ts's CLOUDNET_OCTAVIA_EXCLUDE); none by default. */
export function octaviaSuite(module: string, adminPassword: string, rbac: RbacTestType, exclude: Exclusion[] = []): TempestSuite {
  return {
    name: `octavia-${module}`,
    include: [`^${OCTAVIA_API_PACKAGE.replace(/\./g, '\\.')}\\.${module}\\.`],
    exclude,
    // tempest makes its own users (dynamic credentials, above).
    accounts: { members: 0, admins: 0 },
    prepare: findPublicNetwork,
    conf: () => octaviaConf(adminPassword, rbac),
  };
}
