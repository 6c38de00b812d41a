import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface HostAgentMetrics {
  reconciles: Counter<'trigger' | 'result'>;
  reconcileDuration: Histogram<'trigger'>;
  opsApplied: Counter<'tool'>;
  feedRevision: Gauge;
  feedConnects: Counter;
  feedMessages: Counter<'type'>;
  portsWired: Gauge;
  portStatusReports: Counter<'result'>;
}

export function createHostAgentMetrics(registry: Registry): HostAgentMetrics {
  const p = 'cloudnet_host_agent';
  return {
    reconciles: new Counter({ name: `${p}_reconciles_total`, help: 'Convergence passes, by what triggered them (feed, taps, resync) and result.', labelNames: ['trigger', 'result'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: `${p}_reconcile_duration_seconds`,
      help: 'Time of one convergence pass: read the kernel, plan, apply.',
      labelNames: ['trigger'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    opsApplied: new Counter({ name: `${p}_ops_applied_total`, help: 'Commands applied to the kernel, by tool (ip, bridge, nft).', labelNames: ['tool'], registers: [registry] }),
    feedRevision: new Gauge({ name: `${p}_feed_revision`, help: 'Revision of the last consistent target state received.', registers: [registry] }),
    feedConnects: new Counter({ name: `${p}_feed_connects_total`, help: 'Feed stream connections opened.', registers: [registry] }),
    feedMessages: new Counter({ name: `${p}_feed_messages_total`, help: 'Feed messages received, by type.', labelNames: ['type'], registers: [registry] }),
    portsWired: new Gauge({ name: `${p}_ports_wired`, help: 'Local ports plugged into their bridge with their rules in place.', registers: [registry] }),
    portStatusReports: new Counter({ name: `${p}_port_status_reports_total`, help: 'Port status reports sent to the server, by result.', labelNames: ['result'], registers: [registry] }),
  };
}
