// kubernetes: answers the cluster's zones from an index of Services, EndpointSlices, Namespaces
// (and Pods) kept up to date by list and watch. SERVFAIL until the first sync completes.
import type { PluginDefinition, PluginInstance, SetupContext } from '../../plugin.js';
import type { Directive } from '../../corefile/parser.js';
import { Rcode, reply, type DnsRecord, type DnsReply, type DnsRequest } from '../../message.js';
import { isSubdomain, matchZone } from '../../names.js';
import { directiveError } from '../args.js';
import { DnsIndex } from './dns-index.js';
import { parseKubernetesOptions, type KubernetesOptions } from './options.js';
import { isReverseZone, nameserverAddresses, nameserverName, nameservers, nsAnswer, soaRecord, synthesize } from './records.js';
import { localAddresses } from './local-addresses.js';
import { loadKubeConfig, watchKubernetes, type KubeWatch } from './watch.js';

const FIRST_SYNC_WAIT_MS = 5000;

export interface KubernetesDataSource {
  synced(): boolean;
  firstSync: Promise<void>;
  stop(): Promise<void>;
}

// The query side, separate from where the data comes from so tests can fill the index directly.
// localIPs: this server's own addresses, by which it finds the Services in front of it (ns.dns).
export function kubernetesHandler(o: KubernetesOptions, index: DnsIndex, synced: () => boolean, localIPs: readonly string[]): PluginInstance['handler'] {
  const clusterZone = o.zones.find((z) => !isReverseZone(z)) ?? o.zones[0];
  const negative = (rcode: number, zone: string): DnsReply => reply('kubernetes', rcode, [], [soaRecord(zone, o.ttl, index.modified)]);
  const answerOrNodata = (zone: string, answers: DnsRecord[], additionals: DnsRecord[] = []): DnsReply => (answers.length ? reply('kubernetes', Rcode.NOERROR, answers, [], additionals) : negative(Rcode.NOERROR, zone));
  return {
    name: 'kubernetes',
    async serveDNS(req: DnsRequest, next) {
      const zone = matchZone(req.qname, o.zones);
      if (zone === null) return next(req);
      if (!synced()) return reply('kubernetes', Rcode.SERVFAIL, [], [], [], false);
      if (req.qname === zone) {
        if (req.qtype === 'SOA') return reply('kubernetes', Rcode.NOERROR, [{ ...soaRecord(zone, o.ttl, index.modified), name: req.name || '.' }]);
        if (req.qtype === 'NS') {
          const ns = nsAnswer(nameservers(index, localIPs, zone), req.name || '.', o.ttl);
          return answerOrNodata(zone, ns.answers, ns.additionals);
        }
        return negative(Rcode.NOERROR, zone);
      }
      if (req.qname === nameserverName(zone)) return answerOrNodata(zone, nameserverAddresses(nameservers(index, localIPs, zone), req.name, req.qtype, o.ttl));
      const s = synthesize(index, o, { qname: req.qname, name: req.name, qtype: req.qtype }, zone, clusterZone);
      if (s.kind === 'nxdomain') {
        if (o.fallthrough.through(req.qname)) return next(req);
        return negative(Rcode.NXDOMAIN, zone);
      }
      if (s.kind === 'nodata') return negative(Rcode.NOERROR, zone);
      const answers = s.answers;
      if (s.externalTarget && (req.qtype === 'A' || req.qtype === 'AAAA')) {
        // An ExternalName's target is resolved through the whole server, as CoreDNS's upstream does.
        const target = s.externalTarget;
        const internal = o.zones.some((z) => isSubdomain(target, z));
        try {
          const r = await req.lookup(target, req.qtype);
          if (internal || r.rcode === Rcode.NOERROR) answers.push(...r.answers);
        } catch {
          // The CNAME alone is still a correct answer.
        }
      }
      return reply('kubernetes', Rcode.NOERROR, answers, [], s.additionals);
    },
  };
}

function setupKubernetes(d: Directive, ctx: SetupContext): PluginInstance {
  const o = parseKubernetesOptions(d, ctx.zones);
  let kc;
  try {
    kc = loadKubeConfig(o);
  } catch (err) {
    throw directiveError(d, `cannot configure the Kubernetes API client: ${(err as Error).message}`);
  }
  const index = new DnsIndex();
  let watch: KubeWatch | null = null;
  const logger = ctx.logger.child({ plugin: 'kubernetes' });
  return {
    handler: kubernetesHandler(o, index, () => watch?.synced() ?? false, localAddresses(ctx.bindAddresses)),
    ready: () => watch?.synced() ?? false,
    async start() {
      watch = watchKubernetes(kc, o, index, ctx.metrics, logger);
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), FIRST_SYNC_WAIT_MS).unref());
      if ((await Promise.race([watch.firstSync, timeout])) === 'timeout') logger.warn('starting server with unsynced Kubernetes API');
    },
    async stop() {
      await watch?.stop();
    },
  };
}

export const kubernetesPlugin: PluginDefinition = { name: 'kubernetes', setup: setupKubernetes };
