import type { Outcome, TestResult } from './subunit.js';

/** Where a result belongs: `setUpClass (pkg.mod.Class)` and `pkg.mod.Class.test_x` both belong to `pkg.mod`. */
export function moduleOf(testId: string): string {
  const fixture = /^\w+ \(([^)]+)\)$/.exec(testId);
  const dotted = fixture ? fixture[1]! : testId;
  const parts = dotted.split('.');
  // A fixture names the class (module.Class); a test names module.Class.test.
  return parts.slice(0, fixture ? -1 : -2).join('.') || dotted;
}

/** The class and test of an id, without its module: `PortsTestJSON.test_show_port`, or `setUpClass (TagsExtTest)`. */
export function shortName(testId: string): string {
  const fixture = /^(\w+) \(([^)]+)\)$/.exec(testId);
  if (fixture) return `${fixture[1]} (${fixture[2]!.split('.').pop()})`;
  return testId.split('.').slice(-2).join('.');
}

export interface ModuleSummary {
  module: string;
  pass: number;
  fail: number;
  skip: number;
  /** Skip reason → the tests skipped for it. */
  skipReasons: Map<string, string[]>;
  failures: TestResult[];
}

export interface RunSummary {
  modules: ModuleSummary[];
  totals: Record<Outcome, number>;
}

export function summarize(results: TestResult[]): RunSummary {
  const byModule = new Map<string, ModuleSummary>();
  const totals: Record<Outcome, number> = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) {
    const module = moduleOf(r.id);
    let m = byModule.get(module);
    if (!m) byModule.set(module, (m = { module, pass: 0, fail: 0, skip: 0, skipReasons: new Map(), failures: [] }));
    m[r.outcome]++;
    totals[r.outcome]++;
    if (r.outcome === 'skip') {
      const reason = r.reason ?? 'no reason given';
      m.skipReasons.set(reason, [...(m.skipReasons.get(reason) ?? []), shortName(r.id)]);
    }
    if (r.outcome === 'fail') m.failures.push(r);
  }
  return { modules: [...byModule.values()].sort((a, b) => a.module.localeCompare(b.module)), totals };
}

export interface Exclusion {
  /** A regular expression over test ids, as tempest's `--exclude-list` takes it. */
  pattern: string;
  /** Why it cannot run against this cloud. */
  reason: string;
}

/** Text for the log: one line per module with its counts, its skip reasons under it, then failures and exclusions. */
export function formatSummary(
  summary: RunSummary,
  exclusions: Exclusion[] = [],
  tracebackLines = 12,
  /** A note for failures already diagnosed (printed instead of most of the traceback). */
  knownFailure: (testId: string) => string | undefined = () => undefined,
): string {
  const lines: string[] = [];
  const width = Math.max(10, ...summary.modules.map((m) => m.module.length));
  for (const m of summary.modules) {
    lines.push(`${m.module.padEnd(width)}  pass ${String(m.pass).padStart(3)}  fail ${String(m.fail).padStart(3)}  skip ${String(m.skip).padStart(3)}`);
    for (const [reason, tests] of m.skipReasons) {
      lines.push(`    skip ×${tests.length}: ${reason}`);
      lines.push(`        ${tests.join(', ')}`);
    }
  }
  const t = summary.totals;
  lines.push(`${'total'.padEnd(width)}  pass ${String(t.pass).padStart(3)}  fail ${String(t.fail).padStart(3)}  skip ${String(t.skip).padStart(3)}`);
  for (const e of exclusions) lines.push(`excluded ${e.pattern}: ${e.reason}`);
  for (const m of summary.modules) {
    for (const f of m.failures) {
      const known = knownFailure(f.id);
      const tail = (f.traceback ?? '').split('\n').filter((l) => l.trim() !== '').slice(known ? -1 : -tracebackLines);
      lines.push(known ? `FAIL (known: ${known}) ${f.id}` : `FAIL ${f.id}`, ...tail.map((l) => `    ${l}`));
    }
  }
  return lines.join('\n');
}
