import { backendsOf } from './haproxy-config.js';
import type { AmphoraHealthReport, ListenerStats, ReportedMemberStatus } from './target.js';
import type { LoadBalancer } from './types.js';

/** One row of HAProxy's `show stat` CSV, by column name (`pxname`, `svname`, `status`, `scur`, …). */
export type StatRow = Record<string, string>;

/**
 * Parses the answer to `show stat` (HAProxy's CSV: a `# `-prefixed header line naming the columns, one line
 * per frontend, server and backend). Fields that contain a comma come double-quoted.
 */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0 || !lines[0]!.startsWith('# ')) throw new Error(`show stat answered no CSV header: ${JSON.stringify(csv.slice(0, 200))}`);
  const columns = csvFields(lines[0]!.slice(2));
  return lines.slice(1).map((line) => {
    const values = csvFields(line);
    const row: StatRow = {};
    columns.forEach((c, i) => {
      if (c !== '' && c !== '-') row[c] = values[i] ?? '';
    });
    return row;
  });
}

function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') (value += '"'), (i += 2);
        else if (line[i] === '"') break;
        else value += line[i++];
      }
      fields.push(value);
      i += 2; // closing quote and comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/**
 * A server's `status` column in Octavia's vocabulary. Transitional states (`UP 1/3`: up, failing checks)
 * report where the server still is; NOLB (disabled on a 404 check) and DRAIN take no new connections.
 */
export function memberStatusOf(status: string): ReportedMemberStatus {
  const word = status.split(' ')[0];
  switch (word) {
    case 'UP':
      return 'UP';
    case 'DRAIN':
    case 'NOLB':
      return 'DRAIN';
    case 'MAINT':
      return 'MAINT';
    case 'no':
      return 'NO_CHECK';
    default:
      return 'DOWN';
  }
}

/**
 * The listeners and pools part of the health report, from `show stat` and the tree HAProxy runs. A listener
 * without a frontend row (not running) is DOWN with zero counters; a pool is UP if any of its backends is (one
 * per listener that routes to it) and each member reports its status on the pool's first backend (checks run
 * on every backend alike). Pools that no enabled listener routes to have no backend and are not reported.
 */
export function healthFromStat(rows: StatRow[], lb: LoadBalancer): Pick<AmphoraHealthReport, 'listeners' | 'pools'> {
  const frontends = new Map(rows.filter((r) => r.svname === 'FRONTEND').map((r) => [r.pxname!, r]));
  const listeners: AmphoraHealthReport['listeners'] = {};
  for (const listener of lb.listeners) {
    const row = frontends.get(listener.id);
    listeners[listener.id] = { status: row?.status === 'OPEN' ? 'OPEN' : row?.status === 'FULL' ? 'FULL' : 'DOWN', stats: row ? listenerStats(row) : ZERO_STATS };
  }
  const pools: AmphoraHealthReport['pools'] = {};
  for (const backend of backendsOf(lb)) {
    const backendRow = rows.find((r) => r.pxname === backend.name && r.svname === 'BACKEND');
    const report = (pools[backend.poolId] ??= { status: 'DOWN', members: {} });
    if (backendRow?.status === 'UP') report.status = 'UP';
    for (const row of rows) {
      if (row.pxname !== backend.name || row.svname === 'BACKEND' || row.svname === 'FRONTEND') continue;
      report.members[row.svname!] ??= memberStatusOf(row.status ?? '');
    }
  }
  return { listeners, pools };
}

const ZERO_STATS: ListenerStats = { activeConnections: 0, totalConnections: 0, bytesIn: 0, bytesOut: 0, requestErrors: 0 };

function listenerStats(row: StatRow): ListenerStats {
  const n = (column: string) => Number(row[column] || 0);
  return { activeConnections: n('scur'), totalConnections: n('stot'), bytesIn: n('bin'), bytesOut: n('bout'), requestErrors: n('ereq') };
}
