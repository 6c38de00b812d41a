import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Registry, Counter } from 'prom-client';
import { parseProviderInterfaces } from '../../../src/cli/host-agent.js';
import { serveMetrics } from '../../../src/lib/metrics-server.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts', 'host-agent'];

test('cloudnet host-agent --help documents the flags', async () => {
  const { stdout } = await run('node', [...CLI, '--help']);
  for (const flag of ['--host', '--server', '--netns', '--tunnel-ip', '--provider-interface', '--heartbeat-interval', '--resync-interval', '--metrics-listen']) {
    assert.ok(stdout.includes(flag), flag);
  }
});

test('--host and --server are required (exit 2)', async () => {
  await assert.rejects(run('node', [...CLI, '--host', 'h1']), (err: { code: number; stderr: string }) => err.code === 2 && /--host and --server are required/.test(err.stderr));
});

test('provider interfaces are PHYSNET:IFNAME', () => {
  assert.deepEqual(parseProviderInterfaces(['public:eth-public', 'storage:eth2']), { public: 'eth-public', storage: 'eth2' });
  assert.throws(() => parseProviderInterfaces(['public']), /PHYSNET:IFNAME/);
  assert.throws(() => parseProviderInterfaces(['a:b:c']), /PHYSNET:IFNAME/);
});

test('the metrics endpoint serves the registry on an ephemeral port', async () => {
  const registry = new Registry();
  new Counter({ name: 'cloudnet_host_agent_probe_total', help: 'probe', registers: [registry] }).inc(3);
  const { server, url } = await serveMetrics(registry, '127.0.0.1:0');
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const body = await (await fetch(url)).text();
    assert.match(body, /cloudnet_host_agent_probe_total 3/);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  } finally {
    server.close();
  }
});
