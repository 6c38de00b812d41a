// Starts `cloudnet dns` in-process on 127.0.0.1 and a free port, for tests.
import { createLogger } from '../../../src/lib/logger.js';
import { startDnsServer, type RunningDnsServer } from '../../../src/dns/run.js';

export interface TestDns {
  port: number;
  server: RunningDnsServer;
  close(): Promise<void>;
}

export async function startTestDns(corefile: string, corefilePath: string | null = null): Promise<TestDns> {
  const server = await startDnsServer({ corefile: corefilePath ? null : corefile, corefilePath, defaultPort: 0, logger: createLogger('dns-test', process.env.CLOUDNET_LOG_LEVEL ?? 'silent') });
  const port = server.boundPort(server.ports()[0]);
  if (!port) throw new Error('server did not bind');
  return { port, server, close: () => server.close() };
}

export async function eventually<T>(probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 50));
    last = await probe();
  }
  return last;
}
