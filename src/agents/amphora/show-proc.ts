/** What the master CLI's `show proc` says about the master and its workers (HAProxy 2.6). */
export interface HaproxyProcesses {
  masterPid: number;
  /** Reloads the master has done since it started, and how many of them failed. */
  reloads: number;
  failedReloads: number;
  /** Workers, the current one (0 reloads old) first; older ones still finish their connections. */
  workers: { pid: number; reloads: number }[];
}

/**
 * Parses `show proc`:
 * ```
 * #<PID>          <type>          <reloads>       <uptime>        <version>
 * 9905            master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4
 * # workers
 * 9920            worker          0               0d00h00m00s     2.6.12-1+deb12u4
 * ```
 */
export function parseShowProc(text: string): HaproxyProcesses {
  let master: { pid: number; reloads: number; failed: number } | undefined;
  const workers: { pid: number; reloads: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/.exec(line);
    if (!m) continue;
    if (m[2] === 'master') master = { pid: Number(m[1]), reloads: Number(m[3]), failed: Number(m[4] ?? 0) };
    else workers.push({ pid: Number(m[1]), reloads: Number(m[3]) });
  }
  if (!master) throw new Error(`show proc named no master: ${JSON.stringify(text.slice(0, 200))}`);
  workers.sort((a, b) => a.reloads - b.reloads);
  return { masterPid: master.pid, reloads: master.reloads, failedReloads: master.failed, workers };
}
