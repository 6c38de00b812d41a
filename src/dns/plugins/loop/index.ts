// loop: at start-up sends itself a query for a random name (HINFO); seeing that query come back
// more than twice means a forwarding loop, and the process exits, as CoreDNS does.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { PluginDefinition } from '../../plugin.js';
import { expectArgs, unsupported } from '../args.js';

const LOOP_THRESHOLD = 2;
const PROBE_ATTEMPTS = 3;

export const loopPlugin: PluginDefinition = {
  name: 'loop',
  setup(d, ctx) {
    expectArgs(d, 0, 0);
    for (const sub of d.block ?? []) throw unsupported(sub, 'loop');
    const zone = ctx.zones[0];
    const probe = `${randomInt(2 ** 31)}.${randomInt(2 ** 31)}${zone ? '.' + zone : ''}`;
    let seen = 0;
    let disabled = false;
    return {
      serving(boundPort) {
        const target = ctx.bindAddresses[0] === '::' || ctx.bindAddresses[0] === '0.0.0.0' ? '127.0.0.1' : ctx.bindAddresses[0];
        const socket = dgram.createSocket(target.includes(':') ? 'udp6' : 'udp4');
        socket.on('message', () => {
          disabled = true;
          socket.close();
        });
        socket.on('error', () => socket.close());
        let attempts = 0;
        const send = (): void => {
          if (disabled || attempts++ >= PROBE_ATTEMPTS) {
            if (!disabled) socket.close();
            disabled = true;
            return;
          }
          const q = dnsPacket.encode({ id: randomInt(65536), type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: probe, type: 'HINFO', class: 'IN' }] });
          socket.send(q, boundPort, target);
          setTimeout(send, 2000).unref();
        };
        send();
      },
      handler: {
        name: 'loop',
        serveDNS(req, next) {
          if (!disabled && req.qtype === 'HINFO' && req.qname === probe) {
            seen++;
            if (seen > LOOP_THRESHOLD) {
              ctx.logger.fatal({ plugin: 'loop', probe, client: `${req.clientAddress}:${req.clientPort}` }, `Loop (${req.clientAddress}:${req.clientPort} -> :${req.server.split(':').pop()}) detected for zone "${zone ? zone + '.' : '.'}"`);
              process.exit(1);
            }
          }
          return next(req);
        },
      },
    };
  },
};
