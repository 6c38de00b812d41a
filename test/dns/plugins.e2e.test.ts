// health, ready, log, loadbalance, hosts, reload and loop, end to end; and the CLI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig, query } from './support/dns-client.js';
import { cleanupsAfterFile } from './support/cleanups.js';
import { freeTcpPort } from './support/ports.js';
import { eventually, startTestDns, type TestDns } from './support/server.js';

// The built CLI (scripts/test.sh builds first): starting it is much faster than through tsx.
const CLI = join(import.meta.dirname, '../../dist/src/cli/main.js');

const defer = cleanupsAfterFile();
const dir = mkdtempSync(join(tmpdir(), 'cloudnet-dns-'));
defer(() => rmSync(dir, { recursive: true, force: true }));

async function dns(corefile: string, path: string | null = null): Promise<TestDns> {
  const s = await startTestDns(corefile, path);
  defer(() => s.close());
  return s;
}

describe('plugins', { timeout: 90_000 }, () => {
  it('health answers OK on /health and lameduck delays shutdown while queries are still answered', async () => {
    const s = await startTestDns(`.:0 {\n  bind 127.0.0.1\n  health 127.0.0.1:0 {\n    lameduck 400ms\n  }\n  hosts {\n    10.0.0.1 a.test\n  }\n}`);
    const res = await fetch(`http://127.0.0.1:${s.server.httpPort('127.0.0.1:0')}/health`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'OK');
    const t0 = Date.now();
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await dig(s.port, 'a.test')).answer, ['a.test. 3600 IN A 10.0.0.1']);
    await closing;
    assert.ok(Date.now() - t0 >= 400);
  });

  it('loadbalance shuffles A records', async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1} lb.test`).join('\n    ');
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  loadbalance round_robin\n  hosts {\n    ${hosts}\n  }\n}`);
    const orders = new Set<string>();
    for (let i = 0; i < 10; i++) orders.add((await query(s.port, 'lb.test', 'A')).answers!.map((a) => (a as { data: string }).data).join(','));
    assert.ok(orders.size > 1, 'orders differ between queries');
  });

  it('hosts reads a hosts file, answers PTR, NODATA for other types, and reloads changes', async () => {
    const file = join(dir, 'hosts');
    writeFileSync(file, '10.1.2.3 file.test alias.test\nfd00::5 file.test\n');
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  hosts ${file} {\n    ttl 60\n    reload 100ms\n  }\n}`);
    assert.deepEqual((await dig(s.port, 'alias.test')).answer, ['alias.test. 60 IN A 10.1.2.3']);
    assert.deepEqual((await dig(s.port, 'file.test', 'AAAA')).answer, ['file.test. 60 IN AAAA fd00::5']);
    assert.deepEqual((await dig(s.port, '-x', '10.1.2.3')).answer, ['3.2.1.10.in-addr.arpa. 60 IN PTR file.test.', '3.2.1.10.in-addr.arpa. 60 IN PTR alias.test.']);
    const mx = await dig(s.port, 'file.test', 'MX');
    assert.equal(mx.status, 'NOERROR');
    assert.deepEqual(mx.answer, []);
    writeFileSync(file, '10.1.2.4 file.test\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const r = await eventually(() => dig(s.port, 'file.test'), (x) => x.answer[0]?.endsWith('10.1.2.4'));
    assert.deepEqual(r.answer, ['file.test. 60 IN A 10.1.2.4']);
  });

  it('reload picks up a changed Corefile and keeps answering on the same socket', async () => {
    const path = join(dir, 'Corefile.reload');
    writeFileSync(path, `.:0 {\n  bind 127.0.0.1\n  reload 2s 1s\n  hosts {\n    10.0.0.1 r.test\n  }\n}`);
    const s = await dns('', path);
    assert.deepEqual((await dig(s.port, 'r.test')).answer, ['r.test. 3600 IN A 10.0.0.1']);
    writeFileSync(path, `.:0 {\n  bind 127.0.0.1\n  reload 2s 1s\n  hosts {\n    10.0.0.2 r.test\n  }\n}`);
    let failures = 0;
    const r = await eventually(
      async () => {
        const x = await dig(s.port, 'r.test').catch(() => null);
        if (!x || x.status !== 'NOERROR') failures++;
        return x;
      },
      (x) => x?.answer[0]?.endsWith('10.0.0.2') ?? false,
      6000,
    );
    assert.deepEqual(r?.answer, ['r.test. 3600 IN A 10.0.0.2']);
    assert.equal(failures, 0, 'no query failed during the reload');
  });

  it('log writes CoreDNS common log format lines', async () => {
    const { formatQueryLog, COMMON_FORMAT } = await import('../../src/dns/plugins/log/format.js');
    const line = formatQueryLog(
      COMMON_FORMAT,
      { clientAddress: '127.0.0.1', clientPort: 40196, packet: { id: 31734 }, qtype: 'A', qclass: 'IN', name: 'example.org', transport: 'udp', size: 40, dnssecOk: false, ednsSize: null, recursionDesired: true } as never,
      { rcode: 0, authoritative: false, answers: [], authorities: [], additionals: [], plugin: 'forward' },
      56,
      0.000101,
    );
    assert.equal(line, '127.0.0.1:40196 - 31734 "A IN example.org. udp 40 false 512" NOERROR qr,rd,ra 56 0.000101s');
  });
});

describe('cloudnet dns command', { timeout: 90_000 }, () => {
  it('starts two workers from -conf with -dns.port, prints the address, answers, and exits on SIGTERM', async () => {
    const conf = join(dir, 'Corefile.cli');
    const metricsPort = await freeTcpPort();
    writeFileSync(conf, `. {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:${metricsPort}\n  hosts {\n    10.0.0.9 cli.test\n  }\n}\n`);
    const child = spawn(process.execPath, [CLI, 'dns', '-conf', conf, '-dns.port', '0', '-workers', '2'], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    defer(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /^\.:(\d+)$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    for (let i = 0; i < 20; i++) assert.deepEqual((await dig(port, 'cli.test')).answer, ['cli.test. 3600 IN A 10.0.0.9']);
    // Whichever worker serves /metrics, the counts are the sum over both workers.
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const requests = [...text.matchAll(/^coredns_dns_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.equal(requests, 20);
    assert.match(text, /^coredns_build_info\{[^}]*\} 1$/m);
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  });

  it('rejects a bad Corefile with the line number and exit code 1', async () => {
    const conf = join(dir, 'Corefile.bad');
    writeFileSync(conf, '. {\n  bind 127.0.0.1\n  nosuchplugin\n}\n');
    const child = spawn(process.execPath, [CLI, 'dns', '-conf', conf, '-dns.port', '0', '-workers', '1'], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(err, /Corefile\.bad:3 - Error during parsing: unknown directive 'nosuchplugin'/);
  });
});

describe('loop', { timeout: 90_000 }, () => {
  it('detects a forwarding loop and exits', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    probe.close();
    const conf = join(dir, 'Corefile.loop');
    // Forwarding to itself: the probe query comes back again and again.
    writeFileSync(conf, `.:${port} {\n  bind 127.0.0.1\n  loop\n  forward . 127.0.0.1:${port}\n}\n`);
    const looping = spawn(process.execPath, [CLI, 'dns', '-conf', conf, '-workers', '1'], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    defer(() => void looping.kill('SIGKILL'));
    let err = '';
    looping.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => looping.on('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(err, /Loop \(127\.0\.0\.1:\d+ -> :\d+\) detected for zone \\"\.\\"/);
  });
});
