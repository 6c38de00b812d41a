// The control socket between `lab up` and other shells, with a stand-in lab behind it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/lib/logger.js';
import { LabControlClient, LabError, serveControl, type LabControl, type VmRequest } from '../../../src/lab/control.js';
import type { LabState, VmRecord } from '../../../src/lab/state.js';

const dir = mkdtempSync(join(tmpdir(), 'cloudnet-lab-control-'));
const socket = join(dir, 'lab.sock');
const calls: unknown[] = [];
let server: Server;

const lab: LabControl = {
  state: () => ({ runId: 'a1b2c3' }) as LabState,
  async createVm(request: VmRequest) {
    calls.push(['createVm', request]);
    if (request.name === 'taken') throw new LabError(409, "a VM named 'taken' exists");
    if (request.name === 'boom') throw new Error('unexpected');
    return { name: request.name, host: request.host ?? 'host1' } as VmRecord;
  },
  async deleteVm(name) {
    calls.push(['deleteVm', name]);
  },
  async stopAgent(host) {
    calls.push(['stopAgent', host]);
  },
  async startAgent(host) {
    calls.push(['startAgent', host]);
  },
  async createAmphoraVm(request) {
    calls.push(['createAmphoraVm', request]);
    return { host: 'host2', computeId: request.amphoraId };
  },
  async attachPort(computeId, portId) {
    calls.push(['attachPort', computeId, portId]);
  },
  async deleteAmphoraVm(computeId) {
    calls.push(['deleteAmphoraVm', computeId]);
  },
};

before(async () => {
  server = await serveControl(socket, lab, createLogger('test', 'silent'));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('requests reach the lab and answers come back', async () => {
  const client = new LabControlClient(socket);
  assert.equal((await client.state()).runId, 'a1b2c3');
  assert.deepEqual(await client.createVm({ name: 'web', network: 'demo-net', securityGroups: ['ssh'] }), { name: 'web', host: 'host1' });
  const options = { fixedIps: [{ subnet: 'demo-v4', ipAddress: '198.18.1.50' }], allowedAddresses: [{ ipAddress: '198.18.1.100', macAddress: 'fa:16:3e:00:00:aa' }], portSecurity: false };
  await client.createVm({ name: 'vip', network: 'demo-net', ...options });
  await client.deleteVm('web');
  await client.stopAgent('host2');
  await client.startAgent('host2');
  assert.deepEqual(await client.createAmphoraVm({ amphoraId: 'amp1', ports: ['p1', 'p2'], avoidHosts: ['host1'] }), { host: 'host2', computeId: 'amp1' });
  await client.attachPort('amp1', 'p3');
  await client.deleteAmphoraVm('amp1');
  assert.deepEqual(calls, [
    ['createVm', { name: 'web', network: 'demo-net', host: undefined, securityGroups: ['ssh'], fixedIps: undefined, allowedAddresses: undefined, portSecurity: undefined }],
    ['createVm', { name: 'vip', network: 'demo-net', host: undefined, securityGroups: undefined, ...options }],
    ['deleteVm', 'web'],
    ['stopAgent', 'host2'],
    ['startAgent', 'host2'],
    ['createAmphoraVm', { amphoraId: 'amp1', ports: ['p1', 'p2'], avoidHosts: ['host1'] }],
    ['attachPort', 'amp1', 'p3'],
    ['deleteAmphoraVm', 'amp1'],
  ]);
});

test("the lab's errors keep their status and message; unexpected ones are 500", async () => {
  const client = new LabControlClient(socket);
  await assert.rejects(client.createVm({ name: 'taken', network: 'n' }), (err: LabError) => err.status === 409 && /exists/.test(err.message));
  await assert.rejects(client.createVm({ name: 'boom', network: 'n' }), (err: LabError) => err.status === 500 && err.message === 'unexpected');
  await assert.rejects(client.createVm({ name: 1 } as unknown as VmRequest), (err: LabError) => err.status === 400);
  await assert.rejects(client.createAmphoraVm({ amphoraId: 'amp1', ports: [], avoidHosts: [] }), (err: LabError) => err.status === 400);
  for (const bad of [{ fixedIps: [{ subnet: 1 }] }, { allowedAddresses: [{ macAddress: 'fa:16:3e:00:00:01' }] }, { fixedIps: [{ port: 'x' }] }, { portSecurity: 'no' }]) {
    await assert.rejects(client.createVm({ name: 'x', network: 'n', ...bad } as unknown as VmRequest), (err: LabError) => err.status === 400, JSON.stringify(bad));
  }
});

test('no lab on the socket: the error says how to start one', async () => {
  await assert.rejects(new LabControlClient(join(dir, 'none.sock')).state(), /the lab is not running .*'cloudnet lab up'/);
});
