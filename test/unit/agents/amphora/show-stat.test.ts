import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthFromStat, memberStatusOf, parseShowStat } from '../../../../src/agents/amphora/show-stat.js';
import { parseShowProc } from '../../../../src/agents/amphora/show-proc.js';
import { balancer, listener, member, pool } from './fixtures.js';

const HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,check_desc,-,';

/** A `show stat` answer with the columns the report reads, in HAProxy's order, plus a quoted field. */
function stat(rows: [string, string, { scur?: number; stot?: number; bin?: number; bout?: number; ereq?: number; status: string; desc?: string }][]): string {
  const lines = rows.map(([px, sv, r]) => [px, sv, '', '', r.scur ?? '', '', '', r.stot ?? '', r.bin ?? '', r.bout ?? '', '', '', r.ereq ?? '', '', '', '', '', r.status, '1', r.desc ?? '', '', ''].join(','));
  return [HEADER, ...lines, ''].join('\n');
}

test('show stat CSV: the header names the columns; quoted fields may hold commas and quotes', () => {
  const rows = parseShowStat(stat([['l1', 'FRONTEND', { scur: 3, stot: 10, status: 'OPEN', desc: '"a, ""b"""' }]]));
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.pxname, 'l1');
  assert.equal(rows[0]!.scur, '3');
  assert.equal(rows[0]!.status, 'OPEN');
  assert.equal(rows[0]!.check_desc, 'a, "b"');
  assert.equal(rows[0]!.weight, '1');
  assert.throws(() => parseShowStat('Unknown command.\n'), /no CSV header/);
});

test("server status words in Octavia's vocabulary", () => {
  const cases: [string, string][] = [
    ['UP', 'UP'],
    ['UP 1/3', 'UP'],
    ['DOWN', 'DOWN'],
    ['DOWN 1/2', 'DOWN'],
    ['NOLB', 'DRAIN'],
    ['DRAIN', 'DRAIN'],
    ['DRAIN (agent)', 'DRAIN'],
    ['MAINT', 'MAINT'],
    ['MAINT (via p1:l1/m1)', 'MAINT'],
    ['MAINT (resolution)', 'MAINT'],
    ['no check', 'NO_CHECK'],
  ];
  for (const [status, expected] of cases) assert.equal(memberStatusOf(status), expected, status);
});

test('health: listeners by frontend, pools by backend, members from the first backend of their pool', () => {
  const lb = balancer({
    listeners: [listener({ id: 'l1', protocolPort: 80 }), listener({ id: 'l2', protocolPort: 81 }), listener({ id: 'l3', protocolPort: 82, defaultPoolId: 'p2' })],
    pools: [pool({ id: 'p1', members: [member({ id: 'm1' }), member({ id: 'm2' })] }), pool({ id: 'p2', members: [member({ id: 'm3' })] }), pool({ id: 'p3', members: [] })],
  });
  const rows = parseShowStat(
    stat([
      ['l1', 'FRONTEND', { scur: 2, stot: 40, bin: 1000, bout: 5000, ereq: 1, status: 'OPEN' }],
      ['p1:l1', 'm1', { status: 'UP' }],
      ['p1:l1', 'm2', { status: 'DOWN 1/2' }],
      ['p1:l1', 'BACKEND', { status: 'UP' }],
      ['l2', 'FRONTEND', { scur: 9, stot: 9, status: 'FULL' }],
      ['p1:l2', 'm1', { status: 'UP 1/3' }],
      ['p1:l2', 'm2', { status: 'DOWN' }],
      ['p1:l2', 'BACKEND', { status: 'UP' }],
      ['p2:l3', 'm3', { status: 'MAINT' }],
      ['p2:l3', 'BACKEND', { status: 'DOWN' }],
    ]),
  );
  assert.deepEqual(healthFromStat(rows, lb), {
    listeners: {
      l1: { status: 'OPEN', stats: { activeConnections: 2, totalConnections: 40, bytesIn: 1000, bytesOut: 5000, requestErrors: 1 } },
      l2: { status: 'FULL', stats: { activeConnections: 9, totalConnections: 9, bytesIn: 0, bytesOut: 0, requestErrors: 0 } },
      // No frontend row: HAProxy does not run this listener.
      l3: { status: 'DOWN', stats: { activeConnections: 0, totalConnections: 0, bytesIn: 0, bytesOut: 0, requestErrors: 0 } },
    },
    pools: {
      p1: { status: 'UP', members: { m1: 'UP', m2: 'DOWN' } },
      p2: { status: 'DOWN', members: { m3: 'MAINT' } },
    },
  });
});

test('a stopped (disabled) frontend is a DOWN listener', () => {
  const lb = balancer({ listeners: [listener({ id: 'l1', adminStateUp: false })] });
  const health = healthFromStat(parseShowStat(stat([['l1', 'FRONTEND', { status: 'STOP' }]])), lb);
  assert.equal(health.listeners.l1!.status, 'DOWN');
});

test('show proc: master reloads and failures, workers newest first', () => {
  const cases: [string, string, ReturnType<typeof parseShowProc>][] = [
    [
      'fresh',
      '#<PID>          <type>          <reloads>       <uptime>        <version>      \n9905            master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n# workers\n9908            worker          0               0d00h00m01s     2.6.12-1+deb12u4\n# programs\n\n',
      { masterPid: 9905, reloads: 0, failedReloads: 0, workers: [{ pid: 9908, reloads: 0 }] },
    ],
    [
      'reloading, an old worker finishing',
      '#<PID>          <type>          <reloads>       <uptime>        <version>      \n9905            master          2 [failed: 1]   0d00h01m01s     2.6.12-1+deb12u4\n# workers\n9908            worker          2               0d00h01m01s     2.6.12-1+deb12u4\n9930            worker          0               0d00h00m01s     2.6.12-1+deb12u4\n# programs\n\n',
      { masterPid: 9905, reloads: 2, failedReloads: 1, workers: [{ pid: 9930, reloads: 0 }, { pid: 9908, reloads: 2 }] },
    ],
  ];
  for (const [name, text, expected] of cases) assert.deepEqual(parseShowProc(text), expected, name);
  assert.throws(() => parseShowProc('Unknown command\n'), /no master/);
});
