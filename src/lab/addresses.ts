/**
 * The lab's address plan. Everything is inside 198.18.0.0/15 (RFC 2544 benchmarking space) and fd00::/8
 * (unique local), so that nothing the lab sends can ever be mistaken for, or routed to, a real network.
 *
 *   198.18.0.0/24      underlay: host i's tunnel endpoint is 198.18.0.(10+i)
 *   198.18.1.0/24      demo-net, the demo project's tenant network (and fd00:18:1::/64)
 *   198.18.2.0-255.0   free for tenant networks made by tests and users
 *   198.19.0.0/24      public, the flat external network; 198.19.0.1 is the public namespace (router and client)
 *   198.19.1.0-255.0   free (e.g. more external networks later)
 */
import { formatIp, parseCidr, parseIp } from '../lib/ip.js';
import { MAX_HOSTS } from './names.js';

export const UNDERLAY_PREFIX_LENGTH = 24;

/** Host i's underlay address, the local end of its VXLAN tunnels. */
export function tunnelIp(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS) throw new Error(`host index must be 1..${MAX_HOSTS}, not ${index}`);
  return `198.18.0.${10 + index}`;
}

export interface SubnetPlan {
  name: string;
  ipVersion: 4 | 6;
  cidr: string;
  gatewayIp: string;
  allocationPools?: { start: string; end: string }[];
}

export interface NetworkPlan {
  name: string;
  subnets: SubnetPlan[];
}

export const PUBLIC_NETWORK: NetworkPlan & { physicalNetwork: string } = {
  name: 'public',
  physicalNetwork: 'public',
  // The pool leaves .2-.9 for the lab's own routers and clients on the public network.
  subnets: [{ name: 'public-subnet', ipVersion: 4, cidr: '198.19.0.0/24', gatewayIp: '198.19.0.1', allocationPools: [{ start: '198.19.0.10', end: '198.19.0.250' }] }],
};

export const DEMO_NETWORK: NetworkPlan = {
  name: 'demo-net',
  subnets: [
    { name: 'demo-subnet', ipVersion: 4, cidr: '198.18.1.0/24', gatewayIp: '198.18.1.1' },
    { name: 'demo-subnet-v6', ipVersion: 6, cidr: 'fd00:18:1::/64', gatewayIp: 'fd00:18:1::1' },
  ],
};

/** The public namespace's address on the public network: the subnet's gateway, with its prefix length. */
export function publicGatewayAddress(): string {
  const subnet = PUBLIC_NETWORK.subnets[0];
  return `${subnet.gatewayIp}/${parseCidr(subnet.cidr)!.prefixLength}`;
}

/** What the lab reads back from the Network API to configure a VM (the wire names). */
export interface PortView {
  id: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

export interface SubnetView {
  id: string;
  cidr: string;
  ip_version: 4 | 6;
  gateway_ip: string | null;
}

/** How a VM's interface is set up: what cloud-init would do from the metadata service. */
export interface VmInterfaceConfig {
  mac: string;
  mtu: number;
  /** ADDRESS/PREFIXLEN, IPv4 first. */
  addresses: string[];
  /** One default route per IP version that has a gateway. */
  defaultRoutes: { ipVersion: 4 | 6; via: string }[];
}

export function vmInterfaceConfig(port: PortView, subnets: SubnetView[], mtu: number): VmInterfaceConfig {
  const byId = new Map(subnets.map((s) => [s.id, s]));
  const addresses: { version: 4 | 6; text: string }[] = [];
  const gateways = new Map<4 | 6, string>();
  for (const fixed of port.fixed_ips) {
    const subnet = byId.get(fixed.subnet_id);
    if (!subnet) throw new Error(`port ${port.id} has an address on subnet ${fixed.subnet_id}, which was not given`);
    const cidr = parseCidr(subnet.cidr);
    const ip = parseIp(fixed.ip_address);
    if (!cidr || !ip) throw new Error(`port ${port.id}: cannot read ${fixed.ip_address} on ${subnet.cidr}`);
    addresses.push({ version: ip.version, text: `${formatIp(ip)}/${cidr.prefixLength}` });
    // The first subnet of each family with a gateway provides the default route, as cloud-init does.
    if (subnet.gateway_ip && !gateways.has(ip.version)) gateways.set(ip.version, subnet.gateway_ip);
  }
  addresses.sort((a, b) => a.version - b.version);
  return {
    mac: port.mac_address,
    mtu,
    addresses: addresses.map((a) => a.text),
    defaultRoutes: [4, 6].filter((v) => gateways.has(v as 4 | 6)).map((v) => ({ ipVersion: v as 4 | 6, via: gateways.get(v as 4 | 6)! })),
  };
}
