import { createHash } from 'node:crypto';

/**
 * Kernel object names, Neutron's Linux bridge conventions: interface names are at most 15 characters, so
 * ids are cut to their first 11. The hypervisor (the lab) names a port's host-side veth with `tapName`.
 */
export const bridgeName = (networkId: string) => `brq${networkId.slice(0, 11)}`;

/**
 * The MAC a bridge is created with, locally administered and fixed per host and network. A bridge left to pick its
 * own takes its lowest port's MAC, and every change of it flushes the bridge's neighbour entries, permanent ones
 * included, so a tap plugged after them would silently undo the neighbour suppression entries of the same pass.
 */
export const bridgeAddress = (networkId: string, hostTunnelIp: string): string => {
  const hash = createHash('sha256').update(`${hostTunnelIp} ${networkId}`).digest();
  return ['02', ...[...hash.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
};
export const vxlanName = (vni: number) => `vxlan-${vni}`;
export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;

export const isBridgeName = (name: string) => name.startsWith('brq');
export const isVxlanName = (name: string) => /^vxlan-\d+$/.test(name);
export const isTapName = (name: string) => name.startsWith('tap');

/** Our nftables tables, one per family: `bridge` marks and anti-spoofing, `inet` stateful security groups. */
export const NFT_TABLE = 'cloudnet';

export const VXLAN_PORT = 4789;
