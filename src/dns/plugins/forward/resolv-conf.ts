// The `nameserver` lines of a resolv.conf, as forward's TO may name such a file.
export function parseResolvConfNameservers(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) servers.push(m[1]);
  }
  return servers;
}
