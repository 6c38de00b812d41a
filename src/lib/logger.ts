import { pino, type Logger } from 'pino';

export type { Logger };

// Structured JSON logs on stderr, so stdout stays free for a command's own output.
export function createLogger(name: string, level = process.env.CLOUDNET_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name, pid: process.pid } }, pino.destination(2));
}
