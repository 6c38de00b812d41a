import type { FastifyRequest } from 'fastify';
import { badRequest, forbidden, unauthorized } from '../../lib/errors.js';
import type { Store } from '../../store/store.js';
import { validTokenRecord } from './authentication.js';
import type { TokenRecord } from './model.js';

/** A header's single value (Fastify gives repeated headers as arrays). */
export function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The token behind `X-Auth-Token`, read from the database on every identity call: these are rare, and identity
 * decisions (revocations above all) must not lag behind the validator cache the other APIs use.
 */
export async function callerOf(store: Store, request: FastifyRequest): Promise<TokenRecord> {
  const token = headerOf(request, 'x-auth-token');
  if (!token) throw unauthorized();
  const record = await store.read((db) => validTokenRecord(db, token, new Date()));
  if (!record) throw unauthorized();
  return record;
}

/** Keystone's admin: the `admin` role on the project the token is scoped to. */
export function isAdmin(caller: TokenRecord): boolean {
  return caller.project !== null && caller.roles.some((r) => r.name === 'admin');
}

export function deny(action: string): Error {
  return forbidden(`You are not authorized to perform the requested action: identity:${action}.`);
}

/** Admin only, or (when `self` holds) the caller acting on itself. */
export function authorize(caller: TokenRecord, action: string, self = false): void {
  if (!self && !isAdmin(caller)) throw deny(action);
}

export function requiredHeader(request: FastifyRequest, name: string): string {
  const value = headerOf(request, name.toLowerCase());
  if (!value) throw badRequest(`Invalid input for header '${name}': is required`);
  return value;
}
