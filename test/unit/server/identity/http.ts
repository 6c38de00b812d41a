import type { TestServer } from '../../../support/server.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** One JSON request to a test server, with X-Auth-Token / X-Subject-Token when given. */
export async function call(
  server: TestServer,
  method: string,
  path: string,
  init: { token?: string; subject?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers['x-auth-token'] = init.token;
  if (init.subject) headers['x-subject-token'] = init.subject;
  const response = await fetch(server.url + path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}
