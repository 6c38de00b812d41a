// CoreDNS's query log line: the {common} format and its placeholders.
import type { DnsReply, DnsRequest } from '../../message.js';
import { rcodeName } from '../../message.js';

export const COMMON_FORMAT = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';
export const COMBINED_FORMAT = COMMON_FORMAT + ' "{>opcode}"';

function replyFlags(req: DnsRequest, r: DnsReply): string {
  const flags = ['qr'];
  if (r.authoritative) flags.push('aa');
  if (r.truncated) flags.push('tc');
  if (req.recursionDesired) flags.push('rd');
  if (r.recursionAvailable !== false) flags.push('ra');
  return flags.join(',');
}

export function formatQueryLog(format: string, req: DnsRequest, r: DnsReply, wireSize: number, seconds: number): string {
  const values: Record<string, string> = {
    '{remote}': req.clientAddress,
    '{port}': String(req.clientPort),
    '{>id}': String(req.packet.id ?? 0),
    '{type}': req.qtype,
    '{class}': req.qclass,
    '{name}': req.name + '.',
    '{proto}': req.transport,
    '{size}': String(req.size),
    '{>do}': String(req.dnssecOk),
    '{>bufsize}': String(req.ednsSize ?? 512),
    '{rcode}': rcodeName(r.rcode),
    '{>rflags}': replyFlags(req, r),
    '{rsize}': String(wireSize),
    '{duration}': `${seconds.toFixed(9).replace(/0+$/, '')}s`,
    '{>opcode}': 'QUERY',
  };
  return format.replace(/\{>?[a-z]+\}/g, (m) => values[m] ?? m);
}
