// The request and reply shapes every plugin sees. Records use dns-packet's representation.
import type { Answer, Packet, Question } from 'dns-packet';

export type DnsRecord = Answer;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export type Transport = 'udp' | 'tcp';

export interface DnsRequest {
  // The question as the client spelled it (no trailing dot), for echoing case in answers.
  name: string;
  // Lower-cased, no trailing dot; '' is the root.
  qname: string;
  qtype: string;
  qclass: string;
  transport: Transport;
  clientAddress: string;
  clientPort: number;
  family: 4 | 6;
  // The EDNS0 UDP payload size the client advertised, or null without an OPT record.
  ednsSize: number | null;
  dnssecOk: boolean;
  recursionDesired: boolean;
  // Size of the query on the wire, for metrics.
  size: number;
  // Set by the server: the server block's zone ('' is the root) and its `dns://zone:port` label.
  zone: string;
  server: string;
  packet: Packet;
  question: Question;
  // The query as received (null for internal lookups), so forward can relay it unchanged.
  wire: Buffer | null;
  // Resolves a name through this server block's whole chain, as CoreDNS's upstream lookups do.
  lookup(name: string, qtype: string): Promise<DnsReply>;
  // Observers registered by plugins on the way in, run by the server on the way out.
  observers: ReplyObserver[];
  // process.hrtime.bigint() when the query arrived.
  startedAt: bigint;
  // Set by cache when it answers from an entry, so the server may replay the encoded answer.
  cached?: CachedAnswer;
}

// A cache answer the server may encode once and replay while the entry lives.
export interface CachedAnswer {
  // The reply object cache returned; replayed only when the chain returned this very object.
  reply: DnsReply;
  // Whether every record's TTL is the entry's remaining seconds (else the stored TTLs stay).
  ttlFromEntry: boolean;
  // Counts a hit exactly as cache's serveDNS would and returns the seconds the entry has left,
  // or -1, counting nothing, when only serveDNS can answer (entry gone or expired, prefetch due).
  replay(now: number): number;
}

export interface DnsReply {
  rcode: number;
  authoritative: boolean;
  // Set when an upstream already answered with TC (forward over UDP).
  truncated?: boolean;
  recursionAvailable?: boolean;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  // The plugin that wrote the reply, for coredns_dns_responses_total{plugin}.
  plugin: string;
}

export function reply(plugin: string, rcode: number, answers: DnsRecord[] = [], authorities: DnsRecord[] = [], additionals: DnsRecord[] = [], authoritative = true): DnsReply {
  return { rcode, authoritative, answers, authorities, additionals, plugin };
}

// Called once the reply is encoded, with its rcode and size on the wire (metrics, query log).
export type ReplyObserver = (req: DnsRequest, reply: DnsReply, wireSize: number, durationSeconds: number) => void;
