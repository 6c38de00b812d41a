import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpenrc } from '../../../src/lab/lab.js';
import { openrcVariables, renderOpenrc } from '../../../src/cli/openrc.js';
import { namespaceOf, type LabState } from '../../../src/lab/state.js';
import { renderLabUsage } from '../../../src/lab/usage.js';

const state: LabState = {
  version: 1,
  runId: 'a1b2c3',
  namespacePrefix: 'cn-a1b2c3-',
  dir: '/tmp/lab',
  createdAt: '2026-01-01T00:00:00.000Z',
  phase: 'ready',
  supervisor: { pid: 10, startTime: '1' },
  controlSocket: '/tmp/lab/lab.sock',
  server: { pid: 11, startTime: '2', log: '/tmp/lab/logs/server.log', url: 'http://127.0.0.1:4000', db: 'sqlite:/tmp/lab/cloudnet.db' },
  openrc: { admin: '/tmp/lab/openrc', demo: '/tmp/lab/openrc-demo' },
  namespaces: ['cn-a1b2c3-fabric', 'cn-a1b2c3-public', 'cn-a1b2c3-host1', 'cn-a1b2c3-vm-web'],
  fabric: { netns: 'cn-a1b2c3-fabric', underlayBridge: 'br-underlay', providerBridges: { public: 'br-public' } },
  public: { netns: 'cn-a1b2c3-public', interface: 'eth0', address: '198.19.0.1/24' },
  hosts: [{ name: 'host1', netns: 'cn-a1b2c3-host1', tunnelIp: '198.18.0.11', underlayInterface: 'underlay', providerInterfaces: { public: 'phy-public' }, agent: null }],
  networks: { 'demo-net': { id: 'n1', projectId: 'p1', subnets: [{ id: 's1', name: 'demo-subnet', cidr: '198.18.1.0/24', gatewayIp: '198.18.1.1' }] } },
  vms: { web: { name: 'web', netns: 'cn-a1b2c3-vm-web', host: 'host1', portId: 'port1', networkId: 'n1', tap: 'tapport1', mac: 'fa:16:3e:00:00:01', addresses: ['198.18.1.5/24'] } },
  amphorae: {},
  files: [],
};

test('the usage text names the server, hosts, networks and the commands with this lab\'s --dir', () => {
  const text = renderLabUsage(state);
  for (const expected of ['http://127.0.0.1:4000', 'host1', 'cn-a1b2c3-host1', '198.18.0.11', '198.18.1.0/24', '. /tmp/lab/openrc', 'lab vm create web --network demo-net --dir /tmp/lab', 'lab down --dir /tmp/lab']) {
    assert.ok(text.includes(expected), expected);
  }
});

test('lab exec finds VMs and lab nodes', () => {
  assert.equal(namespaceOf(state, 'web'), 'cn-a1b2c3-vm-web');
  assert.equal(namespaceOf(state, 'host1'), 'cn-a1b2c3-host1');
  assert.equal(namespaceOf(state, 'public'), 'cn-a1b2c3-public');
  assert.equal(namespaceOf(state, 'fabric'), 'cn-a1b2c3-fabric');
  assert.throws(() => namespaceOf(state, 'db'), /no VM or lab node named 'db' \(VMs: web\)/);
});

test('openrc files read back as written, quotes and all', () => {
  const variables = openrcVariables({ url: 'http://127.0.0.1:1', user: 'demo', password: `it's $x`, project: 'demo', region: 'RegionOne' });
  assert.deepEqual(parseOpenrc(renderOpenrc(variables)), variables);
});
