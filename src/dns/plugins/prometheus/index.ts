// prometheus: CoreDNS's per-query metrics for this server block, and /metrics on ADDRESS.
import type { PluginDefinition } from '../../plugin.js';
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
    const observe = (req: DnsRequest, r: DnsReply, wireSize: number, seconds: number): void => {
      const zone = fqdn(req.zone);
      const type = MONITORED_TYPES.has(req.qtype) ? req.qtype : 'other';
      const server = req.server;
      m.requests.inc([server, zone, '', req.transport, req.family === 4 ? '1' : '2', type]);
      if (req.dnssecOk) m.doRequests.inc([server, zone, '']);
      m.requestSize.observe([server, zone, '', req.transport], req.size);
      m.responses.inc([server, zone, '', rcodeName(r.rcode), r.plugin]);
      m.responseSize.observe([server, zone, '', req.transport], wireSize);
      m.requestDuration.observe([server, zone, '', type], seconds);
    };
    let unroute: (() => void) | null = null;
    return {
      handler: {
        name: 'prometheus',
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
