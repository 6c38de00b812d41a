/**
 * One of the benchmark's agent processes: runs the simulated agents of its share of hosts and reports to the
 * coordinator (its parent, over IPC) when each concerned agent holds a scenario's change, timed with the
 * machine-wide monotonic clock. Spreading the agents keeps one heap's garbage collection from delaying them all.
 */
import http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Meter, SimAgent } from './agents.js';
import type { FromAgents, ToAgents } from './agent-protocol.js';

const ACTIVITY_EVERY_MS = 20;

const send = (message: FromAgents) => process.send!(message);
const streams = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const agents = new Map<string, SimAgent>();
let url = '';
let lastLineAt = 0;
let activityTimer: NodeJS.Timeout | undefined;
let loop: IntervalHistogram | undefined;
const meter = new Meter(
  (host, at) => send({ type: 'held', host, at }),
  (at) => {
    lastLineAt = at;
    activityTimer ??= setTimeout(() => {
      activityTimer = undefined;
      send({ type: 'activity', at: lastLineAt });
    }, ACTIVITY_EVERY_MS);
  },
);

process.on('message', (message: ToAgents) => {
  switch (message.type) {
    case 'init':
      url = message.url;
      for (const host of message.hosts) agents.set(host, new SimAgent(host, { url: () => url, token: message.token, meter, streams }));
      break;
    case 'start':
      for (const host of message.hosts) agents.get(host)?.start();
      break;
    case 'stop':
      for (const host of message.hosts) agents.get(host)?.stop();
      break;
    case 'kick':
      url = message.url;
      for (const agent of agents.values()) agent.kick();
      break;
    case 'begin':
      loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      meter.begin(new Map(message.concerned), agents);
      send({ type: 'ack', id: message.id });
      break;
    case 'end': {
      const report = meter.end();
      loop?.disable();
      send({ type: 'report', id: message.id, report, loopMaxMs: (loop?.max ?? 0) / 1e6 });
      break;
    }
  }
});

// The coordinator gone (or done): stop the streams so that the process can exit.
process.on('disconnect', () => {
  for (const agent of agents.values()) agent.stop();
  streams.destroy();
  clearTimeout(activityTimer);
});
