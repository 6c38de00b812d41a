import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A registry per process (and per test server), with Node's default process metrics under a prefix. */
export function createRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  return registry;
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
}

export function createHttpMetrics(registry: Registry, prefix: string): HttpMetrics {
  return {
    requests: new Counter({
      name: `${prefix}_http_requests_total`,
      help: 'HTTP requests served, by route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: `${prefix}_http_request_duration_seconds`,
      help: 'Time to serve an HTTP request, by route template and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

export function createStoreMetrics(registry: Registry, prefix: string): Histogram<'operation'> {
  return new Histogram({
    name: `${prefix}_store_duration_seconds`,
    help: 'Time spent in database transactions, by operation (read or write).',
    labelNames: ['operation'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
}
