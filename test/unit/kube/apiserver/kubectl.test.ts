// The real kubectl against the stand-in (Debian package `kubectl`: Google's packaging with
// kubectl 1.27 to 1.33 and a dispatcher that runs the one matching the server's minor).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startKubeApiServer } from '../../../../src/kube/apiserver/server.js';
import { kubeConfigFor } from '../../../../src/kube/apiserver/kubeconfig.js';
import { createLogger } from '../../../../src/lib/logger.js';

const run = promisify(execFile);

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: team
  labels: {app: web}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: team
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [198.18.0.10]
  conditions: {ready: true}
ports:
- {name: http, port: 8080, protocol: TCP}
`;

test('kubectl create -f, get, apply and delete work against the stand-in', async (t) => {
  const server = await startKubeApiServer({ logger: createLogger('kube-apiserver-test', 'warn'), namespaceDeletionDelayMs: 200 });
  const dir = await mkdtemp(join(tmpdir(), 'cloudnet-kubectl-'));
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigFor(server.url));
  await writeFile(join(dir, 'all.yaml'), MANIFESTS);
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args])).stdout;

  assert.equal(
    await kubectl('create', '-f', join(dir, 'all.yaml')),
    'namespace/team created\nservice/web created\nendpointslice.discovery.k8s.io/web-1 created\n',
  );
  const svc = JSON.parse(await kubectl('get', 'svc', 'web', '-n', 'team', '-o', 'json'));
  assert.match(svc.spec.clusterIP, /^198\.19\./);
  assert.ok(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767);

  const table = await kubectl('get', 'svc', '-n', 'team');
  assert.match(table, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
  assert.match(table, new RegExp(`^web\\s+NodePort\\s+${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+80:${svc.spec.ports[0].nodePort}/TCP\\s+\\d+s\\n$`, 'm'));
  assert.match(await kubectl('get', 'endpointslices', '-A'), /team\s+web-1\s+IPv4\s+8080\s+198\.18\.0\.10/);

  await assert.rejects(kubectl('create', '-f', join(dir, 'all.yaml')), (e: { stderr: string }) => /AlreadyExists/.test(e.stderr));
  assert.match(await kubectl('create', 'namespace', 'dry', '--dry-run=server'), /namespace\/dry created \(server dry run\)/);
  await assert.rejects(kubectl('get', 'namespace', 'dry'), /NotFound/);

  // apply on top of `create` sends a strategic merge patch; a second port merges by key.
  await writeFile(join(dir, 'all.yaml'), MANIFESTS.replace('  - {name: http, port: 80, targetPort: 8080}', '  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443}'));
  assert.match(await kubectl('apply', '-f', join(dir, 'all.yaml')), /service\/web configured/);
  const applied = JSON.parse(await kubectl('get', 'svc', 'web', '-n', 'team', '-o', 'json'));
  assert.deepEqual(applied.spec.ports.map((p: { name: string }) => p.name), ['http', 'https']);
  assert.equal(applied.spec.ports[0].nodePort, svc.spec.ports[0].nodePort, 'apply keeps the allocated node port');
  assert.match(await kubectl('apply', '-f', join(dir, 'all.yaml')), /service\/web unchanged/);

  assert.equal(await kubectl('delete', 'svc', 'web', '-n', 'team'), 'service "web" deleted\n');
  await assert.rejects(kubectl('get', 'svc', 'web', '-n', 'team'), (e: { stderr: string }) => /NotFound.*services "web" not found/.test(e.stderr));
  assert.equal(await kubectl('delete', 'namespace', 'team'), 'namespace "team" deleted\n');

  // Imperative commands: create namespace and create service post protobuf; label patches.
  assert.equal(await kubectl('create', 'namespace', 'lab'), 'namespace/lab created\n');
  assert.equal(await kubectl('create', 'service', 'nodeport', 'np', '-n', 'lab', '--tcp=80:8080', '--node-port=30080'), 'service/np created\n');
  assert.match(await kubectl('get', 'svc', 'np', '-n', 'lab', '--no-headers'), /^np\s+NodePort\s+198\.19\.\S+\s+<none>\s+80:30080\/TCP\s+/);
  assert.equal(await kubectl('label', 'namespace', 'lab', 'tier=test'), 'namespace/lab labeled\n');
  assert.match(await kubectl('get', 'namespaces', '-l', 'tier=test', '-o', 'name'), /^namespace\/lab\n$/);
  await assert.rejects(kubectl('get', 'endpointslice', 'web-1', '-n', 'team'), /NotFound/);
});
