// The plugin contract, in CoreDNS's ServeDNS shape: a handler gets the request and the next
// handler, and either answers or passes the request on.
import type { Logger } from '../lib/logger.js';
import type { Directive } from './corefile/parser.js';
import type { DnsReply, DnsRequest } from './message.js';
import type { DnsMetrics } from './metrics.js';
import type { HttpEndpoints } from './http-endpoints.js';

export type NextHandler = (req: DnsRequest) => Promise<DnsReply>;

export interface Handler {
  readonly name: string;
  serveDNS(req: DnsRequest, next: NextHandler): Promise<DnsReply>;
  // For a handler in front of cache: what it does to a query the cache answers, so the server may
  // replay the cache's encoded answers without running the chain (server/reply-memo.ts).
  // 'passes': it returns the reply it gets, or a changed one, which is then never replayed.
  // A function: the query's effect to reproduce on each replay (prometheus's series).
  // Absent: the handler runs for every query.
  readonly onCacheHit?: 'passes' | CacheHitRecorder;
}

// What is fixed about the replays of one encoded answer, for a recorder to prepare them.
export interface CacheHitShape {
  zone: string;
  server: string;
  qtype: string;
  transport: 'udp' | 'tcp';
  family: 4 | 6;
  dnssecOk: boolean;
  rcode: number;
  plugin: string;
}

// Prepares, once per encoded answer and client family, what each replay records.
export type CacheHitRecorder = (shape: CacheHitShape) => (querySize: number, replySize: number, seconds: number) => void;

// What a directive sets up: a handler in the query path and/or a part with a lifecycle.
export interface PluginInstance {
  handler?: Handler;
  // Called before the server takes queries; kubernetes waits here for its first sync (bounded).
  start?(): Promise<void>;
  // Called once the DNS listeners are open (loop sends its probe then), with the port the
  // server block's configured port is actually bound to.
  serving?(boundPort: number): void;
  stop?(): Promise<void>;
  // Plugins that report readiness (CoreDNS's ready.Readiness); /ready is 200 once all say true.
  ready?(): boolean;
}

export interface SetupContext {
  // The zones of the server block the directive is in.
  zones: string[];
  // `dns://:PORT`, the metrics' server label.
  server: string;
  corefilePath: string | null;
  metrics: DnsMetrics;
  http: HttpEndpoints;
  logger: Logger;
  // The port this server block listens on (loop sends its probe there).
  port: number;
  bindAddresses: string[];
  readiness: Readiness;
  // Rebuilds the server from the Corefile on disk (the reload plugin calls it).
  reload(): Promise<void>;
}

// A failure a plugin reports (an upstream timed out): SERVFAIL, but not a panic.
export class PluginError extends Error {}

// Every plugin of an instance that reports readiness, for the ready plugin.
export interface Readiness {
  notReady(): string[];
}

export interface PluginDefinition {
  name: string;
  setup(directive: Directive, ctx: SetupContext): PluginInstance;
}
