/** Operator settings of the Network API. */
export interface NetworkConfig {
  /** VNIs handed to tenant networks, inclusive. */
  vniRange: [number, number];
  /** Physical networks that flat provider networks may use. */
  physicalNetworks: string[];
  /** MTU of the underlay; VXLAN networks get this less the 50 bytes of encapsulation. */
  underlayMtu: number;
  /** Quotas of projects that have none of their own (-1: unlimited). */
  defaultQuotas: Record<string, number>;
}

export const VXLAN_OVERHEAD = 50;

export const defaultNetworkConfig: NetworkConfig = {
  vniRange: [1001, 16_000_000],
  physicalNetworks: ['public'],
  underlayMtu: 1500,
  defaultQuotas: {
    network: 100,
    subnet: 100,
    port: 500,
    security_group: 10,
    security_group_rule: 100,
  },
};
