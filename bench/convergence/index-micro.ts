/**
 * Micro-measurements of the relevance index alone (no server, no database), at the convergence benchmark's layout,
 * for the costs the benchmark pointed at:
 *
 *   node --import tsx bench/convergence/index-micro.ts [--hosts 500] [--ports 50000] [--networks 10]
 *
 * 1. A port created on a host that already carries its network: bytes the bound host is sent (the whole network's
 *    remote ports again, through the `networkRemotes` key) against the bytes of the port itself.
 * 2. A resume after K members joined a group: `messagesFor` with K `member:` keys, for growing K (linear or not).
 * 3. A host's slice (a snapshot) and the index build.
 */
import { parseArgs } from 'node:util';
import { RelevanceIndex } from '../../src/feed/relevance-index.js';
import type { LoggedChange } from '../../src/store/changelog.js';

const { values: args } = parseArgs({
  options: { hosts: { type: 'string', default: '500' }, ports: { type: 'string', default: '50000' }, networks: { type: 'string', default: '10' } },
});
const H = Number(args.hosts);
const P = Number(args.ports);
const N = Number(args.networks);
const perNetwork = H / N;
const host = (i: number) => `host-${i}`;
const ip = (j: number) => `10.${Math.floor(j / 65000)}.${Math.floor(j / 250) % 256}.${(j % 250) + 1}`;
const portBody = (j: number, groups: string[]) => ({
  id: `port-${j}`,
  network_id: `net-${Math.floor((j % H) / perNetwork)}`,
  'binding:host_id': host(j % H),
  mac_address: `fa:16:3e:${((j >> 16) & 255).toString(16).padStart(2, '0')}:${((j >> 8) & 255).toString(16).padStart(2, '0')}:${(j & 255).toString(16).padStart(2, '0')}`,
  fixed_ips: [{ subnet_id: 's', ip_address: ip(j) }],
  security_groups: groups,
});

let t = performance.now();
const index = new RelevanceIndex();
for (let i = 0; i < H; i++) index.load('host', { id: `uuid-${i}`, name: host(i), tunnel_ip: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` });
for (let k = 0; k < N; k++) index.load('network', { id: `net-${k}`, mtu: 1450, 'provider:network_type': 'vxlan', 'provider:segmentation_id': k + 1 });
index.load('security_group', { id: 'base', security_group_rules: [] });
index.load('security_group', { id: 'big', security_group_rules: [] });
index.load('security_group', {
  id: 'ref',
  security_group_rules: [{ id: 'r', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: 'big' }],
});
for (let j = 0; j < P; j++) {
  const round = Math.floor(j / H);
  index.load('port', portBody(j, ['base', ...(round % 5 === 0 ? ['big'] : []), ...(round === 1 && (j % H) % 5 === 0 ? ['ref'] : [])]));
}
console.log(`index of ${P} ports on ${H} hosts built in ${(performance.now() - t).toFixed(0)} ms`);
let revision = 1;
const change = (id: string, body: unknown, previous: unknown): LoggedChange => ({
  revision: ++revision,
  resource: 'port',
  id,
  projectId: null,
  action: previous ? 'update' : 'create',
  body,
  previous,
  createdAt: '',
});
const bytes = (messages: unknown[]) => messages.reduce((n: number, m) => n + JSON.stringify(m).length + 1, 0);

// 1. One port create on host 0, which already carries net-0.
const created = change('port-new', portBody(P, ['base']), null);
index.apply(created);
t = performance.now();
const touched = index.touched(created, 'live');
let total = 0;
let bound = 0;
for (const [h, keys] of touched) {
  const b = bytes(index.messagesFor(h, keys));
  total += b;
  if (h === host(P % H)) bound = b;
}
const portOnly = bytes(index.messagesFor(host(P % H), ['port:port-new']));
console.log(
  `1. port create on a host already on its network: ${touched.size} hosts, ${total} bytes in ${(performance.now() - t).toFixed(1)} ms; ` +
    `the bound host alone ${bound} bytes (its new local port ${portOnly} bytes; resending the network's ${(perNetwork - 1) * (P / H)} remote ports would be ~${bytes(index.messagesFor(host(P % H), ['networkRemotes:net-0']))} bytes)`,
);

// 2. A resume after K members joined `big`: one host that references it, K member keys.
const referencing = host(0);
for (const K of [1000, 2000, 4000, 8000]) {
  const keys = Array.from({ length: K }, (_, k) => `member:big|${ip(k * 5 + 1)}`);
  t = performance.now();
  const messages = index.messagesFor(referencing, keys);
  console.log(`2. messagesFor with ${K} member keys (a resume after ${K} joins): ${(performance.now() - t).toFixed(1)} ms, ${messages.length} messages`);
}

// 3. Slices.
t = performance.now();
let sliceBytes = 0;
for (let i = 0; i < 20; i++) sliceBytes += bytes(index.slice(host(i * Math.floor(H / 20))));
console.log(`3. slice: ${((performance.now() - t) / 20).toFixed(1)} ms per host (messages built and serialised), ${(sliceBytes / 20 / 1e6).toFixed(2)} MB per host`);
