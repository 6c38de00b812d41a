import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable, runConvergence } from '../../../bench/convergence/harness.js';
import { createTestDatabase } from '../../support/databases.js';

// The convergence benchmark at its smallest scale, so that it keeps running: every scenario completes, every
// concerned agent (its agents dealt over two processes, so each scenario needs both) holds the change under both
// fan-out policies, and the Neutron model costs more where it must; on SQLite and on PostgreSQL.
// About 25 s per database on an idle machine (four server processes start); the timeout leaves room for a loaded one.
for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`the convergence benchmark runs at the smallest scale, agents in two processes (${dialect})`, { timeout: 300_000 }, async () => {
    const db = await createTestDatabase(dialect);
    const lines: string[] = [];
    try {
      const result = await runConvergence({
        hosts: 10,
        ports: 30,
        networks: 2,
        referencingHosts: 2,
        failPercent: 10,
        agentDownTimeSeconds: 1,
        waitSeconds: 20,
        agentProcesses: 2,
        db: db.url,
        log: (line) => lines.push(line),
      });
      assert.ok(result.setup.some((l) => l.startsWith(`server up`) && l.includes(dialect)), lines.join('\n'));
      assert.ok(result.setup.some((l) => l.startsWith('10 agents in 2 processes took their first snapshots')), lines.join('\n'));
      assert.equal(result.results.length, 10, lines.join('\n'));
      for (const r of result.results) assert.equal(r.held, r.concerned, `${r.model} ${r.scenario}: ${lines.join('\n')}`);
      const find = (model: string, prefix: string) => result.results.find((r) => r.model === model && r.scenario.startsWith(prefix))!;
      assert.equal(find('cloudnet', '1 hosts').bytes, 0, 'a failure sends no other agent anything');
      assert.ok(find('neutron', '1 hosts').bytes > 0);
      assert.ok(find('neutron', 'server restart').bytes > 10 * find('cloudnet', 'server restart').bytes);
      assert.ok(find('neutron', 'one port joins').reached > find('cloudnet', 'one port joins').reached);
      for (const r of result.results.filter((r) => r.concerned > 0)) assert.ok(r.p50 >= 0 && r.p99 >= r.p50, `${r.model} ${r.scenario}: ${r.p50} ${r.p99}`);
      assert.match(renderTable(result.results), /neutron ÷ cloudnet/);
    } finally {
      await db.drop();
    }
  });
}
