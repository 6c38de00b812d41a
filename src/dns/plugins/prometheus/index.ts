// prometheus: CoreDNS's per-query metrics for this server block, and /metrics on ADDRESS.
import type { CacheHitRecorder, CacheHitShape, PluginDefinition } from '../../plugin.js';
import { expectArgs, unsupported } from '../args.js';
import { rcodeName, type DnsReply, type DnsRequest } from '../../message.js';
import { fqdn } from '../../names.js';
import { metricsText } from '../../cluster-metrics.js';

// CoreDNS labels uncommon query types "other" to bound the label's cardinality.
const MONITORED_TYPES = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'CNAME', 'MX', 'TXT', 'SRV', 'NAPTR', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'HINFO', 'IXFR', 'AXFR', 'ANY', 'HTTPS', 'SVCB', 'CAA']);

export const prometheusPlugin: PluginDefinition = {
  name: 'prometheus',
  setup(d, ctx) {
    expectArgs(d, 0, 1);
    for (const sub of d.block ?? []) throw unsupported(sub, 'prometheus');
    const address = d.args[0] ?? ':9153';
    const m = ctx.metrics;
    // The label values of every series one query counts in.
    const seriesOf = (shape: CacheHitShape) => {
      const zone = fqdn(shape.zone);
      const type = MONITORED_TYPES.has(shape.qtype) ? shape.qtype : 'other';
      const byProto = [shape.server, zone, '', shape.transport];
      return {
        requests: [shape.server, zone, '', shape.transport, shape.family === 4 ? '1' : '2', type],
        doRequests: shape.dnssecOk ? [shape.server, zone, ''] : null,
        responses: [shape.server, zone, '', rcodeName(shape.rcode), shape.plugin],
        requestSize: byProto,
        responseSize: byProto,
        duration: [shape.server, zone, '', type],
      };
    };
    const observe = (req: DnsRequest, r: DnsReply, wireSize: number, seconds: number): void => {
      const s = seriesOf({ zone: req.zone, server: req.server, qtype: req.qtype, transport: req.transport, family: req.family, dnssecOk: req.dnssecOk, rcode: r.rcode, plugin: r.plugin });
      m.requests.inc(s.requests);
      if (s.doRequests) m.doRequests.inc(s.doRequests);
      m.requestSize.observe(s.requestSize, req.size);
      m.responses.inc(s.responses);
      m.responseSize.observe(s.responseSize, wireSize);
      m.requestDuration.observe(s.duration, seconds);
    };
    // The same series, looked up once per replayed answer instead of once per query.
    const onCacheHit: CacheHitRecorder = (shape) => {
      const s = seriesOf(shape);
      const requests = m.requests.handle(s.requests);
      const doRequests = s.doRequests ? m.doRequests.handle(s.doRequests) : null;
      const requestSize = m.requestSize.handle(s.requestSize);
      const responses = m.responses.handle(s.responses);
      const responseSize = m.responseSize.handle(s.responseSize);
      const duration = m.requestDuration.handle(s.duration);
      return (querySize, replySize, seconds) => {
        requests.value++;
        if (doRequests) doRequests.value++;
        requestSize.observe(querySize);
        responses.value++;
        responseSize.observe(replySize);
        duration.observe(seconds);
      };
    };
    let unroute: (() => void) | null = null;
    return {
      handler: {
        name: 'prometheus',
        onCacheHit,
        serveDNS(req, next) {
          req.observers.push(observe);
          return next(req);
        },
      },
      async start() {
        unroute = ctx.http.route(address, '/metrics', async (_req, res) => {
          const body = await metricsText(m.registry);
          res.writeHead(200, { 'content-type': m.registry.contentType }).end(body);
        });
        await ctx.http.listen();
      },
      async stop() {
        unroute?.();
      },
    };
  },
};
