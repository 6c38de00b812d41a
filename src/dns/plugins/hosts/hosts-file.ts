// The hosts file format: "ADDRESS NAME [ALIASES...]" per line, '#' comments.
import { isIP } from 'node:net';
import { normalizeName } from '../../names.js';
import { reverseName } from '../../reverse.js';

export interface HostsTable {
  v4: Map<string, string[]>;
  v6: Map<string, string[]>;
  // Reverse name (in-addr.arpa / ip6.arpa) -> names, in file order.
  reverse: Map<string, string[]>;
  size: number;
}

export function emptyHostsTable(): HostsTable {
  return { v4: new Map(), v6: new Map(), reverse: new Map(), size: 0 };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

export function addHostsLines(table: HostsTable, text: string): HostsTable {
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (!line) continue;
    const [address, ...names] = line.split(/\s+/);
    const zoneless = address.split('%')[0];
    const family = isIP(zoneless);
    if (!family || names.length === 0) continue;
    for (const n of names) {
      const name = normalizeName(n);
      push(family === 4 ? table.v4 : table.v6, name, zoneless);
      push(table.reverse, reverseName(zoneless), name);
      table.size++;
    }
  }
  return table;
}

export function parseHosts(text: string): HostsTable {
  return addHostsLines(emptyHostsTable(), text);
}
