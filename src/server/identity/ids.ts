import { randomUUID } from 'node:crypto';

/** Keystone's id format: a UUID4 as 32 hex digits without dashes. */
export function newIdentityId(): string {
  return randomUUID().replaceAll('-', '');
}
