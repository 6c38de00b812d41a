import { Counter, Gauge, type Registry } from 'prom-client';

export interface AmphoraAgentMetrics {
  applies: Counter<'action'>;
  processRestarts: Counter<'process'>;
  appliedRevision: Gauge;
  streamConnects: Counter;
  healthReports: Counter<'result'>;
}

export function createAmphoraAgentMetrics(registry: Registry): AmphoraAgentMetrics {
  const p = 'cloudnet_amphora_agent';
  return {
    applies: new Counter({
      name: `${p}_applies_total`,
      help: 'Targets applied, by what it took: unchanged, runtime (runtime API, no reload), reload, start, vip (keepalived or the SINGLE VIP only), stopped, refused.',
      labelNames: ['action'],
      registers: [registry],
    }),
    processRestarts: new Counter({ name: `${p}_process_restarts_total`, help: 'Supervised daemons restarted after an unexpected exit, by process.', labelNames: ['process'], registers: [registry] }),
    appliedRevision: new Gauge({ name: `${p}_applied_config_revision`, help: 'configRevision of the last target applied.', registers: [registry] }),
    streamConnects: new Counter({ name: `${p}_target_stream_connects_total`, help: 'Target stream connections opened.', registers: [registry] }),
    healthReports: new Counter({ name: `${p}_health_reports_total`, help: 'Health reports sent to the server, by result.', labelNames: ['result'], registers: [registry] }),
  };
}
