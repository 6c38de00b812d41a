/**
 * Runs octavia-tempest-plugin's API tests against a lab of 3 hosts (issue 4), one module after another on the same
 * lab, each bounded in time, and prints pass/fail/skip by module with skip reasons and failures. Not part of
 * `npm test`: see docs/tempest.md.
 *
 *   node --import tsx test/e2e/tempest/octavia-run.ts [module …]     (default: every module of the API package)
 *
 * CLOUDNET_OCTAVIA_MODULE_TIMEOUT_MIN bounds each module (default 15); CLOUDNET_OCTAVIA_RBAC=none runs without the
 * plugin's RBAC checks (default advanced); CLOUDNET_OCTAVIA_EXCLUDE=<regex> leaves out the tests whose ids match;
 * CLOUDNET_TEMPEST_VERBOSE=1 echoes tempest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/lib/logger.js';
import { deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { Lab } from '../../../src/lab/lab.js';
import { runTempestSuite, type TempestCloud } from './harness.js';
import { OCTAVIA_API_MODULES, octaviaSuite } from './octavia-suite.js';
import type { TestResult } from './subunit.js';
import { formatSummary, summarize } from './summary.js';

const HOSTS = 3;

async function main(): Promise<number> {
  const modules = process.argv.slice(2).length ? process.argv.slice(2) : OCTAVIA_API_MODULES;
  const unknown = modules.filter((m) => !OCTAVIA_API_MODULES.includes(m));
  if (unknown.length) throw new Error(`not modules of the API package: ${unknown.join(', ')}`);
  const timeoutMs = Number(process.env.CLOUDNET_OCTAVIA_MODULE_TIMEOUT_MIN ?? 15) * 60_000;
  const rbac = process.env.CLOUDNET_OCTAVIA_RBAC ?? 'advanced';
  if (rbac !== 'advanced' && rbac !== 'none') throw new Error(`CLOUDNET_OCTAVIA_RBAC must be advanced or none, not ${rbac}`);
  const excluded = process.env.CLOUDNET_OCTAVIA_EXCLUDE;
  const exclude = excluded ? [{ pattern: excluded, reason: 'left out by CLOUDNET_OCTAVIA_EXCLUDE' }] : [];

  // Short: an amphora's HAProxy socket lives under <dir>/amp/<uuid>/ and a socket path has at most 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'cn-octavia-'));
  const logger = createLogger('octavia-tempest', process.env.CLOUDNET_TEST_LOG_LEVEL ?? 'warn');
  let lab: Lab | undefined;
  let prefix = '';
  const stopping = () => void lab?.down().finally(() => process.exit(130));
  process.once('SIGINT', stopping);
  process.once('SIGTERM', stopping);
  const all: TestResult[] = [];
  const withoutResults: string[] = [];
  try {
    lab = await Lab.start({ dir, hosts: HOSTS, logger });
    prefix = lab.state().namespacePrefix;
    const openrc = lab.openrcEnv('admin');
    // The lab outlives each module's run: the harness's stop leaves it up.
    const cloud: TempestCloud = { url: lab.state().server!.url, adminPassword: openrc.OS_PASSWORD!, region: openrc.OS_REGION_NAME ?? 'RegionOne', stop: async () => {} };
    console.log(`lab up in ${dir} (${HOSTS} hosts, namespaces ${prefix}*); RBAC_test_type ${rbac}`);
    for (const module of modules) {
      const started = Date.now();
      const suite = octaviaSuite(module, cloud.adminPassword, rbac, exclude);
      const run = await runTempestSuite(suite, {
        dialect: 'sqlite',
        startCloud: async () => cloud,
        concurrency: 2,
        timeoutMs,
        keepWorkspace: true,
        onProgress: process.env.CLOUDNET_TEMPEST_VERBOSE === '1' ? (line) => process.stdout.write(`tempest: ${line}\n`) : undefined,
      }).catch((err: unknown) => {
        // A module that timed out leaves stestr no run to read back; the next modules still run on the lab.
        console.log(`\n=== ${module}: no results (${err instanceof Error ? err.message : String(err)})`);
        withoutResults.push(module);
        return undefined;
      });
      if (!run) continue;
      all.push(...run.results);
      console.log(`\n=== ${module}: ${Math.round((Date.now() - started) / 1000)} s, tempest exit ${run.exitCode}, workspace ${run.workspace}`);
      console.log(formatSummary(run.summary, suite.exclude, 8));
    }
  } finally {
    await lab?.down();
    for (const ns of await listNetns()) if (prefix && ns.startsWith(prefix)) await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = summarize(all);
  console.log('\n=== all modules');
  console.log(formatSummary(summary, [], 3));
  const resultsFile = join(tmpdir(), `cloudnet-octavia-tempest-${Date.now()}.json`);
  writeFileSync(resultsFile, JSON.stringify(all, null, 1));
  console.log(`results: ${resultsFile}`);
  if (withoutResults.length) console.log(`modules without results: ${withoutResults.join(', ')}`);
  return summary.totals.fail > 0 || withoutResults.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
