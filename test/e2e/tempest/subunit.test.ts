import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mergeIni, renderAccountsYaml, renderIni } from './config.js';
import { tempestExtensions, writePythonShims } from './harness.js';
import { collectResults, parseSubunitV2, stripAttributes } from './subunit.js';
import { formatSummary, moduleOf, shortName, summarize } from './summary.js';

function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n < 0x400000) return Buffer.from([0x80 | (n >> 16), (n >> 8) & 0xff, n & 0xff]);
  return Buffer.from([0xc0 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
const str = (s: string) => Buffer.concat([varint(Buffer.byteLength(s)), Buffer.from(s)]);

const STATUS = { none: 0, inprogress: 2, success: 3, uxsuccess: 4, skip: 5, fail: 6, xfail: 7 } as const;

/** One subunit v2 packet, as python-subunit writes it (CRC left zero: the reader does not check it). */
function packet(p: { id?: string; status?: keyof typeof STATUS; time?: number; file?: [string, string]; tags?: string[] }): Buffer {
  let flags = 0x2000 | STATUS[p.status ?? 'none'];
  const body: Buffer[] = [];
  if (p.time !== undefined) {
    flags |= 0x0200;
    const seconds = Buffer.alloc(4);
    seconds.writeUInt32BE(Math.floor(p.time));
    body.push(seconds, varint(Math.round((p.time % 1) * 1e9)));
  }
  if (p.id) (flags |= 0x0800), body.push(str(p.id));
  if (p.tags) (flags |= 0x0080), body.push(varint(p.tags.length), ...p.tags.map(str));
  if (p.file) {
    flags |= 0x0020 | 0x0040;
    const content = Buffer.from(p.file[1]);
    body.push(str('text/plain;charset=utf8'), str(p.file[0]), varint(content.length), content);
  }
  const payload = Buffer.concat(body);
  let length = 1 + 2 + 1 + payload.length + 4;
  while (varint(length).length + 7 + payload.length !== length) length = varint(length).length + 7 + payload.length;
  const head = Buffer.alloc(3);
  head[0] = 0xb3;
  head.writeUInt16BE(flags, 1);
  return Buffer.concat([head, varint(length), payload, Buffer.alloc(4)]);
}

const PORT_TEST = 'tempest.api.network.test_ports.PortsTestJSON.test_show_port[id-c9a685bd-e83f-499c-939f-9f7863ca259f,smoke]';
const stream = Buffer.concat([
  packet({ id: PORT_TEST, status: 'inprogress', time: 1000 }),
  packet({ id: PORT_TEST, file: ['pythonlogging:', 'GET /v2.0/ports 200\n'] }),
  packet({ id: PORT_TEST, status: 'success', time: 1001.5, tags: ['worker-0'] }),
  packet({ id: 'setUpClass (tempest.api.network.test_tags.TagsTest)', file: ['reason', 'tag extension not enabled.'] }),
  packet({ id: 'setUpClass (tempest.api.network.test_tags.TagsTest)', status: 'skip' }),
  packet({ id: 'tempest.api.network.test_networks.NetworksTest.test_list_networks[id-x]', status: 'inprogress' }),
  packet({ id: 'tempest.api.network.test_networks.NetworksTest.test_list_networks[id-x]', file: ['traceback', 'Traceback (most recent call last):\n'] }),
  packet({ id: 'tempest.api.network.test_networks.NetworksTest.test_list_networks[id-x]', file: ['traceback', 'AssertionError: boom\n'] }),
  packet({ id: 'tempest.api.network.test_networks.NetworksTest.test_list_networks[id-x]', status: 'fail' }),
]);

describe('subunit v2', () => {
  test('parses packets: ids, statuses, timestamps, tags, files', () => {
    const events = parseSubunitV2(stream);
    assert.equal(events.length, 9);
    assert.equal(events[0]!.testId, PORT_TEST);
    assert.equal(events[0]!.status, 'inprogress');
    assert.equal(events[0]!.timestamp?.getTime(), 1_000_000);
    assert.deepEqual(events[2]!.tags, ['worker-0']);
    assert.equal(events[3]!.fileName, 'reason');
    assert.equal(events[3]!.fileBytes?.toString(), 'tag extension not enabled.');
  });

  test('folds events into one result per test, with skip reasons and joined tracebacks', () => {
    const results = collectResults(parseSubunitV2(stream));
    assert.deepEqual(
      results.map((r) => [r.id, r.outcome]),
      [
        ['tempest.api.network.test_ports.PortsTestJSON.test_show_port', 'pass'],
        ['setUpClass (tempest.api.network.test_tags.TagsTest)', 'skip'],
        ['tempest.api.network.test_networks.NetworksTest.test_list_networks', 'fail'],
      ],
    );
    assert.equal(results[0]!.seconds, 1.5);
    assert.equal(results[1]!.reason, 'tag extension not enabled.');
    assert.equal(results[2]!.traceback, 'Traceback (most recent call last):\nAssertionError: boom');
  });

  test('rejects a stream that is not subunit v2', () => {
    assert.throws(() => parseSubunitV2(Buffer.from('time: 2026-11-26 11:01:40Z\n')), /signature/);
  });

  test('reads what python-subunit writes', { skip: !existsSync('/usr/bin/subunit2pyunit') && 'python3-subunit not installed' }, () => {
    const script = `
import sys, subunit
out = subunit.StreamResultToBytes(sys.stdout.buffer)
out.status(test_id='a.b.C.test_x', test_status='inprogress')
out.status(test_id='a.b.C.test_x', file_name='reason', file_bytes=b'because', mime_type='text/plain;charset=utf8')
out.status(test_id='a.b.C.test_x', test_status='skip')
out.status(test_id='a.b.C.test_y', file_name='traceback', file_bytes=b'x' * 70000, mime_type='text/plain;charset=utf8')
out.status(test_id='a.b.C.test_y', test_status='fail')
`;
    const produced = spawnSync('/usr/bin/python3', ['-c', script]);
    assert.equal(produced.status, 0, produced.stderr.toString());
    const results = collectResults(parseSubunitV2(produced.stdout));
    assert.deepEqual(
      results.map((r) => [r.id, r.outcome, r.reason ?? r.traceback?.length]),
      [
        ['a.b.C.test_x', 'skip', 'because'],
        ['a.b.C.test_y', 'fail', 70000],
      ],
    );
  });
});

describe('summary', () => {
  test('module and short names of tests and class fixtures', () => {
    assert.equal(stripAttributes('m.C.test_x[id-1,smoke]'), 'm.C.test_x');
    assert.equal(moduleOf('tempest.api.network.test_ports.PortsTestJSON.test_show_port'), 'tempest.api.network.test_ports');
    assert.equal(moduleOf('setUpClass (tempest.api.network.test_tags.TagsTest)'), 'tempest.api.network.test_tags');
    assert.equal(shortName('setUpClass (tempest.api.network.test_tags.TagsTest)'), 'setUpClass (TagsTest)');
    assert.equal(shortName('tempest.api.network.test_ports.PortsTestJSON.test_show_port'), 'PortsTestJSON.test_show_port');
  });

  test('counts by module, groups skip reasons, lists failures and exclusions', () => {
    const summary = summarize(collectResults(parseSubunitV2(stream)));
    assert.deepEqual(summary.totals, { pass: 1, fail: 1, skip: 1 });
    const text = formatSummary(summary, [{ pattern: '^x\\.', reason: 'no routers' }]);
    assert.match(text, /tempest\.api\.network\.test_tags\s+pass {3}0 {2}fail {3}0 {2}skip {3}1/);
    assert.match(text, /skip ×1: tag extension not enabled\.\n\s+setUpClass \(TagsTest\)/);
    assert.match(text, /excluded \^x\\\.: no routers/);
    assert.match(text, /FAIL tempest\.api\.network\.test_networks\.NetworksTest\.test_list_networks\n\s+Traceback/);
  });
});

describe('tempest configuration', () => {
  test('ini: later layers win per key; lists and booleans in oslo.config form', () => {
    const text = renderIni(mergeIni({ auth: { use_dynamic_credentials: false, a: 1 } }, { auth: { a: 2 }, x: { l: ['p', 'q'] } }));
    assert.equal(text, '[auth]\nuse_dynamic_credentials = False\na = 2\n\n[x]\nl = p,q\n');
    assert.throws(() => renderIni({ s: { k: 'a\nb' } }), /span lines/);
  });

  test('accounts.yaml quotes values and marks admin accounts', () => {
    const yaml = renderAccountsYaml([{ username: "o'k", projectName: 'p', password: 'pw', roles: ['admin'], types: ['admin'] }]);
    assert.match(yaml, /- username: 'o''k'\n {2}project_name: 'p'\n {2}password: 'pw'/);
    assert.match(yaml, /roles:\n {4}- 'admin'\n {2}types:\n {4}- 'admin'/);
  });

  test('api_extensions: what the server advertises, plus what that implies', () => {
    const implied = [{ alias: 'tag', impliedBy: 'standard-attr-tag', reason: '' }];
    assert.deepEqual(tempestExtensions(['subnet', 'standard-attr-tag', 'network'], implied), ['network', 'standard-attr-tag', 'subnet', 'tag']);
    assert.deepEqual(tempestExtensions(['network'], implied), ['network']);
  });
});

test('the python shim takes the sleep out of tempest SubnetsClient.delete_subnet only', { skip: !existsSync('/usr/bin/tempest') && 'tempest not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-shim-'));
  try {
    const check = `
import time
from tempest.lib.services.network import subnets_client
start = time.monotonic(); subnets_client.time.sleep(5); assert time.monotonic() - start < 1
start = time.monotonic(); time.sleep(0.2); assert time.monotonic() - start >= 0.2
print('ok')
`;
    const result = spawnSync('/usr/bin/python3', ['-c', check], { env: { ...process.env, PYTHONPATH: writePythonShims(dir) } });
    assert.equal(result.stdout.toString().trim(), 'ok', result.stderr.toString());
    assert.equal(result.stderr.toString(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
