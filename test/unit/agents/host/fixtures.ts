import type { HostTargetState, LocalPort } from '../../../../src/feed/target-state.js';

/** A small host slice: one VXLAN network with a local and a remote port, one flat network. */
export function sampleTarget(): HostTargetState {
  return {
    revision: 7,
    host: { name: 'h1', tunnelIp: '198.18.0.1', providerInterfaces: { public: 'eth-public' } },
    networks: {
      'net1aaaaaaaaaaaa': { id: 'net1aaaaaaaaaaaa', type: 'vxlan', vni: 1001, physicalNetwork: null, mtu: 1450, subnets: [] },
      'pub1aaaaaaaaaaaa': { id: 'pub1aaaaaaaaaaaa', type: 'flat', vni: null, physicalNetwork: 'public', mtu: 1500, subnets: [] },
    },
    ports: { 'port1aaaaaaaaaaa': port({}) },
    remotePorts: {
      r1: { id: 'r1', networkId: 'net1aaaaaaaaaaaa', mac: 'FA:16:3E:00:00:02', ipAddresses: ['198.18.10.2'], tunnelIp: '198.18.0.2' },
    },
    securityGroups: {
      sg1: {
        id: 'sg1',
        stateful: true,
        rules: [
          { id: 'e4', direction: 'egress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
          { id: 'i22', direction: 'ingress', ethertype: 'IPv4', protocol: '6', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: null, remoteGroupId: 'sg1' },
        ],
      },
    },
    addressSets: { sg1: { securityGroupId: 'sg1', addresses: ['198.18.10.1', '198.18.10.2'] } },
  };
}

export function port(overrides: Partial<LocalPort>): LocalPort {
  return {
    id: 'port1aaaaaaaaaaa',
    networkId: 'net1aaaaaaaaaaaa',
    mac: 'fa:16:3e:00:00:01',
    mtu: 1450,
    adminStateUp: true,
    fixedIps: [{ subnetId: 's1', ipAddress: '198.18.10.1' }],
    portSecurityEnabled: true,
    allowedAddressPairs: [],
    securityGroupIds: ['sg1'],
    deviceOwner: 'compute:nova',
    deviceId: 'vm1',
    ...overrides,
  };
}
