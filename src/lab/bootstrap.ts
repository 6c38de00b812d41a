/**
 * What a fresh lab cloud holds, made through the public APIs as an admin:
 * - `public`: flat on physical network `public`, `router:external`, not shared. Like a real cloud's external
 *   network, every project sees it but only admins (and the services acting for users, e.g. the load balancer
 *   service placing a VIP) make ports on it.
 * - project `demo` with user `demo` (roles member and load-balancer_member), and its VXLAN tenant network
 *   `demo-net`, dual stack.
 * No DHCP anywhere: the lab configures VM interfaces itself, as cloud-init would from metadata.
 */
import { randomBytes } from 'node:crypto';
import type { CloudApi } from './api.js';
import { DEMO_NETWORK, PUBLIC_NETWORK, type NetworkPlan } from './addresses.js';
import type { NetworkRecord } from './state.js';

export const DEMO_PROJECT = 'demo';
export const DEMO_USER = 'demo';

export interface BootstrapResult {
  networks: Record<string, NetworkRecord>;
  demo: { projectId: string; user: string; password: string };
}

export async function bootstrapCloud(admin: CloudApi): Promise<BootstrapResult> {
  const publicNetwork = await bootstrapPublicNetwork(admin);
  const { demo, network } = await bootstrapDemoProject(admin);
  return { networks: { [PUBLIC_NETWORK.name]: publicNetwork, [DEMO_NETWORK.name]: network }, demo };
}

export function bootstrapPublicNetwork(admin: CloudApi): Promise<NetworkRecord> {
  return createNetworkWithSubnets(admin, PUBLIC_NETWORK, {
    'router:external': true,
    shared: false,
    'provider:network_type': 'flat',
    'provider:physical_network': PUBLIC_NETWORK.physicalNetwork,
  });
}

export async function bootstrapDemoProject(admin: CloudApi): Promise<{ demo: BootstrapResult['demo']; network: NetworkRecord }> {
  const password = randomBytes(12).toString('base64url');
  const projectId = await admin.createProject(DEMO_PROJECT);
  const userId = await admin.createUser(DEMO_USER, password, projectId);
  await admin.grantRole(projectId, userId, 'member');
  // Octavia's policy wants its own role besides member for balancer writes.
  await admin.grantRole(projectId, userId, 'load-balancer_member');
  // An admin may make a network for another project; it is then that project's as if it had made it itself.
  const network = await createNetworkWithSubnets(admin, DEMO_NETWORK, { project_id: projectId });
  return { demo: { projectId, user: DEMO_USER, password }, network };
}

async function createNetworkWithSubnets(api: CloudApi, plan: NetworkPlan, attributes: Record<string, unknown>): Promise<NetworkRecord> {
  const network = await api.createNetwork({ name: plan.name, ...attributes });
  const subnets: NetworkRecord['subnets'] = [];
  for (const s of plan.subnets) {
    const subnet = await api.createSubnet({
      network_id: network.id,
      name: s.name,
      ip_version: s.ipVersion,
      cidr: s.cidr,
      gateway_ip: s.gatewayIp,
      enable_dhcp: false,
      ...(s.allocationPools ? { allocation_pools: s.allocationPools } : {}),
      ...(attributes.project_id ? { project_id: attributes.project_id } : {}),
    });
    subnets.push({ id: subnet.id, name: s.name, cidr: subnet.cidr, gatewayIp: subnet.gateway_ip });
  }
  return { id: network.id, projectId: network.project_id, subnets };
}
