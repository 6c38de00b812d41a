import type { CloudClient } from './cloud.js';
import type { TempestSuite } from './harness.js';

/** The tempest modules of the Network API acceptance (issue 2). */
export const NETWORK_MODULES = [
  'test_networks',
  'test_networks_negative',
  'test_ports',
  'test_security_groups',
  'test_security_groups_negative',
  'test_allowed_address_pair',
  'test_tags',
  'test_extensions',
  'test_versions',
  // The admin side of the same resources: external networks, port bindings, quotas.
  'admin.test_external_network_extension',
  'admin.test_ports',
  'admin.test_quotas',
  'admin.test_negative_quotas',
];

/** The flat external network the lab creates, made the same way here so tempest's external-network tests have it. */
export async function createPublicNetwork(admin: CloudClient): Promise<{ publicNetworkId: string; publicNetworkName: string }> {
  const { network } = await admin.ok('POST', '/network/v2.0/networks', {
    network: {
      name: 'public',
      'router:external': true,
      shared: false,
      'provider:network_type': 'flat',
      'provider:physical_network': 'public',
    },
  });
  await admin.ok('POST', '/network/v2.0/subnets', {
    subnet: { name: 'public-v4', network_id: network.id, ip_version: 4, cidr: '198.19.255.0/24', enable_dhcp: false },
  });
  return { publicNetworkId: network.id, publicNetworkName: 'public' };
}

export const networkSuite: TempestSuite = {
  name: 'network',
  include: NETWORK_MODULES.map((m) => `^tempest\\.api\\.network\\.${m}\\.`),
  exclude: [
    {
      pattern: '^tempest\\.api\\.network\\.test_tags\\.TagsExtTest\\.',
      reason:
        'its class setup creates a router and a subnet pool (SUPPORTED_RESOURCES: subnets, ports, routers, subnetpools); ' +
        'this cloud has no L3 routers or subnet pools, so the class cannot be set up',
    },
    {
      pattern: '^tempest\\.api\\.network\\.test_ports\\.Ports(IpV6)?TestJSON\\.test_port_list_filter_by_router_id',
      reason: 'creates a router and plugs the port into it (POST /v2.0/routers, add_router_interface) without checking for the router extension; this cloud has no L3 routers',
    },
  ],
  impliedExtensions: [
    {
      alias: 'tag',
      impliedBy: 'standard-attr-tag',
      reason:
        "tempest's TagsTest (tags on networks) asks for 'tag', the extension's name before Stein; Neutron now advertises only " +
        "'standard-attr-tag', which includes tags on networks, and so does this server",
    },
  ],
  // Two workers, each class holding primary (+ alt for tenancy tests) and admin for its lifetime: twice that, and spare.
  accounts: { members: 8, admins: 4 },
  prepare: createPublicNetwork,
};

/**
 * Failures already diagnosed and reported (docs/tempest.md, "Findings"), each waiting on a server fix. The test
 * fails on any failure not listed here; a listed test that passes is reported so its entry is removed.
 */
export interface KnownGap {
  /** Over the test id without attributes, e.g. `test_networks\\.NetworksTest\\.test_x$`. */
  pattern: RegExp;
  finding: string;
}

export const KNOWN_GAPS: KnownGap[] = [];
