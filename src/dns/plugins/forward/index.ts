// forward: relays queries under FROM to upstream resolvers, chosen by policy, skipping those
// health checks found down, retrying over TCP when a UDP reply was truncated.
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { PluginError, type PluginDefinition } from '../../plugin.js';
import type { Directive } from '../../corefile/parser.js';
import { Rcode, rcodeName, reply, type DnsReply, type DnsRecord, type DnsRequest } from '../../message.js';
import { isSubdomain, normalizeName } from '../../names.js';
import { directiveError, durationArg, expectArgs, intArg, unsupported, zonesArg } from '../args.js';
import { parseResolvConfNameservers } from './resolv-conf.js';
import { parseUpstreamAddress, Upstream, type UpstreamAddress } from './upstream.js';

export type Policy = 'random' | 'round_robin' | 'sequential';

export interface ForwardOptions {
  from: string[];
  upstreams: UpstreamAddress[];
  except: string[];
  forceTcp: boolean;
  preferUdp: boolean;
  maxFails: number;
  policy: Policy;
  healthCheckMs: number;
  healthCheckName: string;
  healthCheckRecursion: boolean;
  maxConcurrent: number;
  failfastAllUnhealthy: boolean;
}

const MAX_UPSTREAMS = 15;
const ATTEMPT_TIMEOUT_MS = 2000;
const OVERALL_TIMEOUT_MS = 5000;

export function parseForwardOptions(d: Directive, blockZones: string[], readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): ForwardOptions {
  expectArgs(d, 2, Infinity);
  const from = zonesArg(d, [d.args[0]], blockZones);
  const upstreams: UpstreamAddress[] = [];
  for (const to of d.args.slice(1)) {
    if (to.startsWith('/')) {
      let text: string;
      try {
        text = readFile(to);
      } catch (err) {
        throw directiveError(d, `cannot read ${to}: ${(err as Error).message}`);
      }
      for (const ns of parseResolvConfNameservers(text)) upstreams.push(parseUpstreamAddress(ns));
      continue;
    }
    try {
      upstreams.push(parseUpstreamAddress(to));
    } catch (err) {
      throw directiveError(d, (err as Error).message);
    }
  }
  if (upstreams.length === 0) throw directiveError(d, 'no upstreams');
  if (upstreams.length > MAX_UPSTREAMS) throw directiveError(d, `more than ${MAX_UPSTREAMS} upstreams`);
  const o: ForwardOptions = {
    from,
    upstreams,
    except: [],
    forceTcp: false,
    preferUdp: false,
    maxFails: 2,
    policy: 'random',
    healthCheckMs: 500,
    healthCheckName: '.',
    healthCheckRecursion: true,
    maxConcurrent: 0,
    failfastAllUnhealthy: false,
  };
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'except':
        expectArgs(sub, 1, Infinity);
        o.except = sub.args.map((a) => normalizeName(a === '.' ? '' : a));
        break;
      case 'force_tcp':
        expectArgs(sub, 0, 0);
        o.forceTcp = true;
        break;
      case 'prefer_udp':
        expectArgs(sub, 0, 0);
        o.preferUdp = true;
        break;
      case 'max_fails':
        expectArgs(sub, 1, 1);
        o.maxFails = intArg(sub, sub.args[0], 0, 2 ** 31 - 1);
        break;
      case 'policy':
        expectArgs(sub, 1, 1);
        if (sub.args[0] !== 'random' && sub.args[0] !== 'round_robin' && sub.args[0] !== 'sequential') throw directiveError(sub, `unknown policy '${sub.args[0]}'`);
        o.policy = sub.args[0];
        break;
      case 'health_check': {
        expectArgs(sub, 1, 4);
        o.healthCheckMs = durationArg(sub, sub.args[0]);
        for (let i = 1; i < sub.args.length; i++) {
          if (sub.args[i] === 'no_rec') o.healthCheckRecursion = false;
          else if (sub.args[i] === 'domain' && sub.args[i + 1]) o.healthCheckName = sub.args[++i];
          else throw directiveError(sub, `unknown health_check option '${sub.args[i]}'`);
        }
        break;
      }
      case 'max_concurrent':
        expectArgs(sub, 1, 1);
        o.maxConcurrent = intArg(sub, sub.args[0], 0, 2 ** 31 - 1);
        break;
      case 'failfast_all_unhealthy_upstreams':
        expectArgs(sub, 0, 0);
        o.failfastAllUnhealthy = true;
        break;
      default:
        throw unsupported(sub, 'forward');
    }
  }
  if (o.forceTcp && o.preferUdp) throw directiveError(d, 'force_tcp and prefer_udp are mutually exclusive');
  return o;
}

// The order upstreams are tried in for one query.
export function upstreamOrder(count: number, policy: Policy, roundRobinStart: number, random: () => number = Math.random): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (policy === 'sequential') return order;
  if (policy === 'round_robin') return order.map((i) => (i + roundRobinStart) % count);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function toReply(wire: Buffer): DnsReply {
  const p = dnsPacket.decode(wire);
  const flags = p.flags ?? 0;
  return {
    rcode: flags & 0xf,
    authoritative: (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0,
    truncated: (flags & dnsPacket.TRUNCATED_RESPONSE) !== 0,
    recursionAvailable: (flags & dnsPacket.RECURSION_AVAILABLE) !== 0,
    answers: (p.answers ?? []) as DnsRecord[],
    authorities: (p.authorities ?? []) as DnsRecord[],
    additionals: ((p.additionals ?? []) as DnsRecord[]).filter((rr) => rr.type !== 'OPT'),
    plugin: 'forward',
  };
}

function queryWire(req: DnsRequest): Buffer {
  if (req.wire) return req.wire;
  return dnsPacket.encode({ id: (Math.random() * 65536) | 0, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [req.question] });
}

export const forwardPlugin: PluginDefinition = {
  name: 'forward',
  setup(d, ctx) {
    const o = parseForwardOptions(d, ctx.zones);
    const m = ctx.metrics;
    const upstreams = o.upstreams.map(
      (a) =>
        new Upstream(a, (proto, reused) => {
          const labels = { proxy_name: 'forward', to: `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`, proto };
          if (reused) m.proxyConnCacheHits.inc(labels);
          else m.proxyConnCacheMisses.inc(labels);
        }),
    );
    let roundRobin = 0;
    let inflight = 0;
    const checkTransport: 'udp' | 'tcp' = o.forceTcp ? 'tcp' : 'udp';

    const markFailed = (u: Upstream): void => {
      u.startChecking(
        o.healthCheckMs,
        () => u.check(checkTransport, o.healthCheckName, o.healthCheckRecursion, ATTEMPT_TIMEOUT_MS),
        () => m.proxyHealthcheckFailures.inc({ proxy_name: 'forward', to: u.label }),
      );
    };

    const exchange = async (u: Upstream, req: DnsRequest, wire: Buffer): Promise<DnsReply> => {
      const started = process.hrtime.bigint();
      const useTcp = o.forceTcp || (req.transport === 'tcp' && !o.preferUdp);
      let answer = useTcp ? await u.exchangeTcp(wire, ATTEMPT_TIMEOUT_MS) : await u.exchangeUdp(wire, ATTEMPT_TIMEOUT_MS);
      let r = toReply(answer);
      if (!useTcp && r.truncated && !o.preferUdp) {
        answer = await u.exchangeTcp(wire, ATTEMPT_TIMEOUT_MS);
        r = toReply(answer);
      }
      m.proxyRequestDuration.observe({ proxy_name: 'forward', to: u.label, rcode: rcodeName(r.rcode) }, Number(process.hrtime.bigint() - started) / 1e9);
      return r;
    };

    return {
      async stop() {
        for (const u of upstreams) u.close();
      },
      handler: {
        name: 'forward',
        async serveDNS(req, next) {
          if (!o.from.some((z) => isSubdomain(req.qname, z)) || o.except.some((z) => isSubdomain(req.qname, z))) return next(req);
          if (o.maxConcurrent > 0 && inflight >= o.maxConcurrent) {
            m.forwardMaxConcurrentRejects.inc();
            return reply('forward', Rcode.REFUSED, [], [], [], false);
          }
          inflight++;
          try {
            const wire = queryWire(req);
            const order = upstreamOrder(upstreams.length, o.policy, roundRobin++);
            const deadline = Date.now() + OVERALL_TIMEOUT_MS;
            let healthy = order.filter((i) => !upstreams[i].isDown(o.maxFails));
            if (healthy.length === 0) {
              m.forwardHealthcheckBroken.inc();
              if (o.failfastAllUnhealthy) return reply('forward', Rcode.SERVFAIL, [], [], [], false);
              // All down: CoreDNS then tries one at random anyway.
              healthy = [order[0]];
            }
            let lastError: unknown = null;
            for (const i of healthy) {
              if (Date.now() > deadline) break;
              const u = upstreams[i];
              try {
                return await exchange(u, req, wire);
              } catch (err) {
                lastError = err;
                u.fails++;
                markFailed(u);
              }
            }
            throw new PluginError(lastError instanceof Error ? lastError.message : 'no upstream answered');
          } finally {
            inflight--;
          }
        },
      },
    };
  },
};
