// hosts: answers A, AAAA and PTR from a hosts file and inline entries. Names it does not know
// fall through or get SERVFAIL (there is no SOA to make an NXDOMAIN), as in CoreDNS; a known
// name asked for another type gets NODATA.
import { readFileSync, statSync } from 'node:fs';
import type { PluginDefinition } from '../../plugin.js';
import { directiveError, durationArg, expectArgs, intArg, zonesArg } from '../args.js';
import { NO_FALLTHROUGH, parseFallthrough, type Fallthrough } from '../fallthrough.js';
import { Rcode, reply, type DnsRecord } from '../../message.js';
import { isSubdomain } from '../../names.js';
import { addHostsLines, emptyHostsTable, type HostsTable } from './hosts-file.js';

export const hostsPlugin: PluginDefinition = {
  name: 'hosts',
  setup(d, ctx) {
    const file = d.args[0] ?? '/etc/hosts';
    const zones = zonesArg(d, d.args.slice(1), ctx.zones);
    let ttl = 3600;
    let reloadMs = 5000;
    let noReverse = false;
    let fall: Fallthrough = NO_FALLTHROUGH;
    const inline: string[] = [];
    for (const sub of d.block ?? []) {
      switch (sub.name) {
        case 'ttl':
          expectArgs(sub, 1, 1);
          ttl = intArg(sub, sub.args[0], 0, 2 ** 31 - 1);
          break;
        case 'reload':
          expectArgs(sub, 1, 1);
          reloadMs = durationArg(sub, sub.args[0]);
          break;
        case 'no_reverse':
          expectArgs(sub, 0, 0);
          noReverse = true;
          break;
        case 'fallthrough':
          fall = parseFallthrough(sub);
          break;
        default:
          if (sub.args.length === 0) throw directiveError(sub, 'an inline hosts entry needs at least one name');
          inline.push([sub.name, ...sub.args].join(' '));
      }
    }
    const inlineText = inline.join('\n');
    let table: HostsTable = addHostsLines(emptyHostsTable(), inlineText);
    let mtimeMs = -1;
    const load = (): void => {
      let st;
      try {
        st = statSync(file);
      } catch {
        return;
      }
      if (st.mtimeMs === mtimeMs) return;
      mtimeMs = st.mtimeMs;
      const t = addHostsLines(emptyHostsTable(), inlineText);
      table = addHostsLines(t, readFileSync(file, 'utf8'));
      ctx.metrics.hostsEntries.set(table.size);
      ctx.metrics.hostsReloadTimestamp.set(Date.now() / 1000);
    };
    let timer: NodeJS.Timeout | null = null;
    return {
      async start() {
        load();
        if (reloadMs > 0) {
          timer = setInterval(load, reloadMs);
          timer.unref();
        }
      },
      async stop() {
        if (timer) clearInterval(timer);
      },
      handler: {
        name: 'hosts',
        async serveDNS(req, next) {
          if (!zones.some((z) => isSubdomain(req.qname, z))) return next(req);
          const answers: DnsRecord[] = [];
          const v4 = table.v4.get(req.qname);
          const v6 = table.v6.get(req.qname);
          if (req.qtype === 'A') for (const a of v4 ?? []) answers.push({ name: req.name, type: 'A', class: 'IN', ttl, data: a });
          else if (req.qtype === 'AAAA') for (const a of v6 ?? []) answers.push({ name: req.name, type: 'AAAA', class: 'IN', ttl, data: a });
          else if (req.qtype === 'PTR' && !noReverse) for (const n of table.reverse.get(req.qname) ?? []) answers.push({ name: req.name, type: 'PTR', class: 'IN', ttl, data: n });
          if (answers.length) return reply('hosts', Rcode.NOERROR, answers);
          const known = v4 !== undefined || v6 !== undefined || (!noReverse && table.reverse.has(req.qname));
          if (known) return reply('hosts', Rcode.NOERROR);
          if (fall.through(req.qname)) return next(req);
          return reply('hosts', Rcode.SERVFAIL, [], [], [], false);
        },
      },
    };
  },
};
