import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/lib/logger.js';
import { deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { Lab, type LabOptions } from '../../../src/lab/lab.js';

export interface TestLab {
  /** The lab's directory (lab.json, logs). */
  readonly dir: string;
  /** The running lab, once the file's `before` hook has brought it up. */
  readonly lab: Lab;
}

/**
 * A lab for the tests of one file: up in a `before` hook, down in an `after` hook, which also removes any namespace
 * of its run that is left (a failed test may leave one) and its directory.
 */
export function labForTests(name: string, options: Omit<LabOptions, 'dir' | 'logger'>): TestLab {
  const dir = mkdtempSync(join(tmpdir(), `cloudnet-${name}-`));
  let lab: Lab | undefined;
  let prefix = '';
  before(async () => {
    lab = await Lab.start({ dir, logger: createLogger('lab-test', process.env.CLOUDNET_TEST_LOG_LEVEL ?? 'warn'), ...options });
    prefix = lab.state().namespacePrefix;
  });
  after(async () => {
    await lab?.down();
    for (const ns of await listNetns()) if (prefix && ns.startsWith(prefix)) await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    get lab() {
      if (!lab) throw new Error('the lab is not up (its before hook failed or has not run)');
      return lab;
    },
  };
}
