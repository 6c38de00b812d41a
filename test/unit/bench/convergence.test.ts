import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable, runConvergence } from '../../../bench/convergence/harness.js';

// The convergence benchmark at its smallest scale, so that it keeps running: every scenario completes, every
// concerned agent holds the change under both fan-out policies, and the Neutron model costs more where it must.
// About 25 s on an idle machine (four server processes start); the timeout leaves room for a loaded one.
test('the convergence benchmark runs at the smallest scale', { timeout: 300_000 }, async () => {
  const lines: string[] = [];
  const result = await runConvergence({
    hosts: 10,
    ports: 30,
    networks: 2,
    referencingHosts: 2,
    failPercent: 10,
    agentDownTimeSeconds: 1,
    waitSeconds: 20,
    log: (line) => lines.push(line),
  });
  assert.equal(result.results.length, 10, lines.join('\n'));
  for (const r of result.results) assert.equal(r.held, r.concerned, `${r.model} ${r.scenario}: ${lines.join('\n')}`);
  const find = (model: string, prefix: string) => result.results.find((r) => r.model === model && r.scenario.startsWith(prefix))!;
  assert.equal(find('cloudnet', '1 hosts').bytes, 0, 'a failure sends no other agent anything');
  assert.ok(find('neutron', '1 hosts').bytes > 0);
  assert.ok(find('neutron', 'server restart').bytes > 10 * find('cloudnet', 'server restart').bytes);
  assert.ok(find('neutron', 'one port joins').reached > find('cloudnet', 'one port joins').reached);
  assert.match(renderTable(result.results), /neutron ÷ cloudnet/);
});
