import type { HealthMonitor, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool } from '../../../../src/agents/amphora/types.js';
import type { HaproxyPeers, HaproxyRenderOptions } from '../../../../src/agents/amphora/haproxy-config.js';
import type { AmphoraTarget } from '../../../../src/agents/amphora/target.js';

/** Builders with Octavia's API defaults; each test overrides what it is about. */

export const OPTIONS: HaproxyRenderOptions = {
  statsSocketPath: '/run/cloudnet-amphora/haproxy.sock',
  serverStateFilePath: '/run/cloudnet-amphora/haproxy.state',
  maxconn: 50000,
  pingCheckCommand: null,
  peers: null,
};

export const listener = (l: Partial<Listener> = {}): Listener => ({
  id: 'l1',
  protocol: 'HTTP',
  protocolPort: 80,
  adminStateUp: true,
  connectionLimit: -1,
  timeoutClientData: 50000,
  timeoutMemberConnect: 5000,
  timeoutMemberData: 50000,
  timeoutTcpInspect: 0,
  insertHeaders: [],
  allowedCidrs: [],
  tls: null,
  defaultPoolId: 'p1',
  l7Policies: [],
  ...l,
});

export const member = (m: Partial<Member> = {}): Member => ({
  id: 'm1',
  address: '198.18.1.11',
  protocolPort: 8080,
  weight: 1,
  backup: false,
  adminStateUp: true,
  monitorAddress: null,
  monitorPort: null,
  ...m,
});

export const monitor = (h: Partial<HealthMonitor> = {}): HealthMonitor => ({
  id: 'hm1',
  type: 'TCP',
  adminStateUp: true,
  delay: 5,
  timeout: 3,
  maxRetries: 2,
  maxRetriesDown: 3,
  httpMethod: null,
  urlPath: null,
  expectedCodes: null,
  httpVersion: null,
  domainName: null,
  ...h,
});

export const pool = (p: Partial<Pool> = {}): Pool => ({
  id: 'p1',
  protocol: 'HTTP',
  lbAlgorithm: 'ROUND_ROBIN',
  adminStateUp: true,
  sessionPersistence: null,
  healthMonitor: null,
  members: [member()],
  tls: null,
  ...p,
});

export const rule = (r: Partial<L7Rule> = {}): L7Rule => ({
  id: 'r1',
  type: 'PATH',
  compareType: 'STARTS_WITH',
  key: null,
  value: '/api',
  invert: false,
  adminStateUp: true,
  ...r,
});

export const policy = (p: Partial<L7Policy> & Pick<L7Policy, 'action'> & Record<string, unknown>): L7Policy =>
  ({ id: 'pol1', position: 1, adminStateUp: true, rules: [rule()], ...p }) as L7Policy;

export const balancer = (b: Partial<LoadBalancer> = {}): LoadBalancer => ({
  id: 'lb1',
  vipAddress: '198.18.0.10',
  listeners: [listener()],
  pools: [pool()],
  ...b,
});

/** The lines of one section (`frontend l1`, `backend p1:l1`, `global`), without indentation. */
export function sectionLines(config: string, header: string): string[] {
  const blocks = config.split(/\n(?=\S)/);
  const block = blocks.find((b) => b.split('\n')[0] === header);
  if (!block) throw new Error(`no section ${header} in:\n${config}`);
  return block.split('\n').slice(1).filter((l) => l !== '').map((l) => l.trim());
}

/** What the server sends amphora a1 (MASTER) or a2 (BACKUP) of an ACTIVE_STANDBY pair whose VRRP runs on `uplink`. */
export function pairTarget(
  amphora: 'a1' | 'a2',
  addresses: Record<'a1' | 'a2', string>,
  o: { lb: LoadBalancer; revision: number; vips: string[]; virtualRouterId: number; certificates?: Record<string, string>; haproxyPeers?: HaproxyPeers | null },
): AmphoraTarget {
  return {
    amphoraId: amphora,
    loadBalancerId: 'lb1',
    configRevision: o.revision,
    loadBalancer: o.lb,
    vrrp: {
      role: amphora === 'a1' ? 'MASTER' : 'BACKUP',
      interface: 'uplink',
      virtualRouterId: o.virtualRouterId,
      unicastSrcIp: addresses[amphora],
      unicastPeers: [addresses[amphora === 'a1' ? 'a2' : 'a1']],
      vips: o.vips,
      advertIntervalSeconds: 0.1,
    },
    vipInterface: 'uplink',
    certificates: o.certificates ?? {},
    haproxyPeers: o.haproxyPeers ?? null,
  };
}
