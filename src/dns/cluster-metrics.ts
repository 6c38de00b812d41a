// With several worker processes each holds its own counters; /metrics, served by whichever
// worker the connection lands on, asks the primary for the sum over all workers.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'cloudnet-dns:metrics-request';
const RESPONSE = 'cloudnet-dns:metrics-response';
const TIMEOUT_MS = 5000;

interface MetricsMessage {
  type: string;
  id: string;
  text?: string;
  error?: string;
}

let workerRegistryShared = false;

export function metricsText(registry: Registry): Promise<string> {
  if (!cluster.isWorker) return registry.metrics();
  shareWorkerRegistry(registry);
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('timed out waiting for the primary to aggregate metrics'));
    }, TIMEOUT_MS);
    const onMessage = (m: MetricsMessage): void => {
      if (m?.type !== RESPONSE || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve(m.text ?? '');
    };
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id });
  });
}

// Workers must have shared their registry before the first scrape; they do at start-up.
export function shareWorkerRegistry(registry: Registry): void {
  if (cluster.isWorker && !workerRegistryShared) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
    workerRegistryShared = true;
  }
}

export function serveAggregatedMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: MetricsMessage) => {
    if (m?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: m.id, text }),
      (err: Error) => worker.send({ type: RESPONSE, id: m.id, error: err.message }),
    );
  });
}
