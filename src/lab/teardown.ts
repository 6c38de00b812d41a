/**
 * Removing a lab from what `lab.json` says it made: the same path serves a clean `lab down`, a failed
 * `lab up` and the leftovers of a lab whose process was killed. Idempotent: anything already gone is fine.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { deleteNetns, listNetns } from '../lib/netns.js';
import { killNamespaceProcesses } from './netns.js';
import { stopProcess } from './processes.js';
import { AMPHORA_STATE_DIR, type LabState } from './state.js';

export async function teardownLab(state: LabState, logger: Logger): Promise<void> {
  // Agents first, so that none of them is still working on a namespace while it goes away; then the server.
  await Promise.all(state.hosts.map((h) => (h.agent ? stopProcess(h.agent) : undefined)));
  await Promise.all(Object.values(state.amphorae).map((a) => (a.agent ? stopProcess(a.agent) : undefined)));
  if (state.server) await stopProcess(state.server);

  // Newest first (VMs before their hosts, hosts before the fabric); then anything with the run's prefix
  // that was never recorded, though every namespace is recorded before it is made.
  const recorded = [...state.namespaces].reverse();
  const stray = (await listNetns()).filter((ns) => ns.startsWith(state.namespacePrefix) && !recorded.includes(ns));
  for (const ns of [...recorded, ...stray]) {
    // Amphorae run their HAProxy and keepalived inside, and VMs whatever was started there with `lab exec`.
    await killNamespaceProcesses(ns);
    await deleteNetns(ns);
  }
  logger.info({ namespaces: recorded.length + stray.length, prefix: state.namespacePrefix }, 'lab namespaces removed');

  for (const file of state.files) rmSync(file, { force: true });
  // The amphorae's state directories (configs, sockets, certificates) go too; their logs stay with the others.
  rmSync(join(state.dir, AMPHORA_STATE_DIR), { recursive: true, force: true });
}
