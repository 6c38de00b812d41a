/**
 * Acceptance of issue 2: tempest's Network API tests (networks, ports, security groups positive and negative,
 * allowed address pairs, tags, extensions, versions) against a fresh `cloudnet server`, pre-provisioned accounts only.
 *
 * CLOUDNET_TEMPEST_DIALECTS picks the databases (default: sqlite,postgres; about a minute each);
 * CLOUDNET_TEMPEST_VERBOSE=1 echoes tempest's progress; CLOUDNET_TEMPEST_KEEP=1 keeps the workspace. See docs/tempest.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DialectName } from '../../../src/store/database.js';
import { runTempestSuite } from './harness.js';
import { KNOWN_GAPS, NETWORK_MODULES, networkSuite } from './network-suite.js';
import { formatSummary, moduleOf, shortName } from './summary.js';

const dialects = (process.env.CLOUDNET_TEMPEST_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as DialectName[];

for (const dialect of dialects) {
  test(`tempest.api.network against cloudnet server on ${dialect}`, { timeout: 20 * 60_000 }, async (t) => {
    const started = Date.now();
    const known = (id: string) => KNOWN_GAPS.find((g) => g.pattern.test(id));
    const run = await runTempestSuite(networkSuite, {
      dialect,
      concurrency: 2,
      keepWorkspace: (results, exitCode) => results.some((r) => r.outcome === 'fail' && !known(r.id)) || (exitCode !== 0 && !results.some((r) => r.outcome === 'fail')),
      onProgress: process.env.CLOUDNET_TEMPEST_VERBOSE === '1' ? (line) => process.stdout.write(`tempest: ${line}\n`) : undefined,
    });
    const report = formatSummary(run.summary, networkSuite.exclude, 12, (id) => known(id)?.finding);
    for (const line of report.split('\n')) t.diagnostic(line);
    t.diagnostic(`tempest api_extensions: ${run.tempestExtensions.join(',')}`);
    t.diagnostic(`${run.accounts.length} pre-provisioned accounts; ${Math.round((Date.now() - started) / 1000)} s${run.workspace ? `; workspace kept: ${run.workspace}` : ''}`);

    const failures = run.results.filter((r) => r.outcome === 'fail');
    for (const r of run.results.filter((r) => r.outcome === 'pass' && known(r.id))) {
      t.diagnostic(`known gap now passes, remove it from KNOWN_GAPS: ${shortName(r.id)}`);
    }

    const unexpected = failures.filter((r) => !known(r.id));
    assert.deepEqual(
      unexpected.map((r) => r.id),
      [],
      `tempest failures (tracebacks above; requests and responses in ${run.workspace}/tempest/tempest.log)`,
    );
    // Guards against a selection that silently matches nothing (a renamed module, a broken include regex).
    const ran = new Set(run.results.map((r) => moduleOf(r.id)));
    assert.deepEqual(
      NETWORK_MODULES.filter((m) => !ran.has(`tempest.api.network.${m}`)),
      [],
      'selected tempest modules that reported no result',
    );
    assert.equal(run.exitCode === 0 || failures.length > 0, true, `tempest exited ${run.exitCode} without a failing test; see ${run.workspace}/tempest-run.log`);
  });
}
