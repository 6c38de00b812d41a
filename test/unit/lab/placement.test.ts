import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastLoadedHost } from '../../../src/lab/placement.js';

test('VMs go to the least loaded host, the first among equals', () => {
  const hosts = ['host1', 'host2', 'host3'];
  const cases: [string[], string][] = [
    [[], 'host1'],
    [['host1'], 'host2'],
    [['host1', 'host2'], 'host3'],
    [['host1', 'host2', 'host3'], 'host1'],
    [['host2', 'host2', 'host3'], 'host1'],
    [['host1', 'gone'], 'host2'],
  ];
  for (const [vms, expected] of cases) assert.equal(leastLoadedHost(hosts, vms.map((host) => ({ host }))), expected, vms.join(','));
  assert.throws(() => leastLoadedHost([], []), /no hosts/);
});
