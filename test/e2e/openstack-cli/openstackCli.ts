import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { DialectName } from '../../../src/store/database.js';

// The real client of record: Debian's python3-openstackclient, called by path (the pyenv python3 on PATH does not
// see Debian's packages).
const OPENSTACK = '/usr/bin/openstack';

/**
 * The database each CLI file runs on. A CLI call costs seconds and its wire format does not depend on the database,
 * which the HTTP API tests cover on both dialects, so the CLI files share the two out instead of running twice.
 */
export const CLI_DIALECT = { identity: 'postgres', loadbalancer: 'postgres', keyManager: 'sqlite', network: 'sqlite' } as const satisfies Record<string, DialectName>;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function openstack(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return run(OPENSTACK, env, args);
}

/** The Neutron CLI (python3-neutronclient): the client of record for what OSC cannot do without Nova. */
export function neutron(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return run('/usr/bin/neutron', env, args);
}

function run(command: string, env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command with `-f json` and returns its parsed output, failing the test on a non-zero exit. */
export async function json(env: NodeJS.ProcessEnv, ...args: string[]): Promise<any> {
  const r = await openstack(env, ...args, '-f', 'json');
  assert.equal(r.code, 0, `openstack ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The same cloud, authenticating with an existing token instead of a password. */
export function tokenEnv(env: NodeJS.ProcessEnv, token: string): NodeJS.ProcessEnv {
  const kept = Object.entries(env).filter(([k]) => !/^OS_(USERNAME|PASSWORD|USER_DOMAIN_NAME|PROJECT_DOMAIN_NAME|PROJECT_NAME)$/.test(k));
  return { ...Object.fromEntries(kept), OS_AUTH_TYPE: 'token', OS_TOKEN: token };
}
