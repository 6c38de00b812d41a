/**
 * Kernel object names, Neutron's Linux bridge conventions: interface names are at most 15 characters, so
 * ids are cut to their first 11. The hypervisor (the lab) names a port's host-side veth with `tapName`.
 */
export const bridgeName = (networkId: string) => `brq${networkId.slice(0, 11)}`;
export const vxlanName = (vni: number) => `vxlan-${vni}`;
export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;

export const isBridgeName = (name: string) => name.startsWith('brq');
export const isVxlanName = (name: string) => /^vxlan-\d+$/.test(name);
export const isTapName = (name: string) => name.startsWith('tap');

/** Our nftables tables, one per family: `bridge` marks and anti-spoofing, `inet` stateful security groups. */
export const NFT_TABLE = 'cloudnet';

export const VXLAN_PORT = 4789;
