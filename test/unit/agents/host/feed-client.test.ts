import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { followFeed } from '../../../../src/agents/host/feed-client.js';
import type { FeedMessage } from '../../../../src/feed/target-state.js';

/** An NDJSON server that answers each connection with the next behaviour in the list. */
async function server(behaviours: ((res: ServerResponse) => void)[]) {
  const paths: string[] = [];
  const s = createServer((req, res) => {
    paths.push(req.url!);
    (behaviours.shift() ?? ((r: ServerResponse) => r.writeHead(200).end()))(res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, paths, close: () => (s.closeAllConnections(), new Promise((r) => s.close(r))) };
}

test('a silent stream is abandoned after the idle timeout; HTTP errors are retried; lines split across chunks are joined', async () => {
  const heartbeat: FeedMessage = { type: 'heartbeat', revision: 4 };
  const srv = await server([
    (res) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }), // headers, then nothing at all
    (res) => res.writeHead(503).end(),
    (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const line = JSON.stringify(heartbeat) + '\n';
      res.write(line.slice(0, 7));
      setTimeout(() => res.write(line.slice(7)), 20);
    },
  ]);
  const received: FeedMessage[] = [];
  const stop = new AbortController();
  const started = Date.now();
  const done = followFeed(
    {
      server: srv.url,
      host: 'h1',
      session: { fetch: (u, i) => fetch(u, i) },
      logger: pino({ level: 'silent' }),
      since: () => 4,
      onMessage: (m) => {
        received.push(m);
        stop.abort();
      },
      idleTimeoutMs: 200,
      minBackoffMs: 10,
      maxBackoffMs: 50,
    },
    stop.signal,
  );
  try {
    await done;
    assert.deepEqual(received, [heartbeat]);
    assert.deepEqual(srv.paths, Array(3).fill('/cloudnet/v1/hosts/h1/target?since=4'));
    assert.ok(Date.now() - started >= 200, 'the silent stream was given its idle time');
  } finally {
    stop.abort();
    await srv.close();
  }
});
