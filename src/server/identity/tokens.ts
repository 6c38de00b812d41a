import { createHash, randomBytes } from 'node:crypto';
import type { TokenRecord } from './model.js';

/** Keystone's default token lifetime ([token] expiration): one hour. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

/**
 * An opaque bearer token: 256 random bits, URL-safe so it travels in headers untouched. It never starts with '-':
 * command-line clients (`openstack token revoke <token>`) would read such a token as an option.
 */
export function generateTokenId(): string {
  for (;;) {
    const id = randomBytes(32).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** What the database keeps of a token: its SHA-256, which identifies it but cannot be presented. */
export function hashTokenId(tokenId: string): string {
  return createHash('sha256').update(tokenId).digest('hex');
}

/** Keystone's audit id: 16 random bytes, URL-safe base64 without padding (22 characters). */
export function generateAuditId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Keystone's timestamp format, microseconds and a Z (`2026-11-26T10:43:28.123000Z`). Fixed width, so stored
 * timestamps compare correctly as text.
 */
export function keystoneTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

export function expiresAfter(issuedAt: Date, seconds: number): Date {
  return new Date(issuedAt.getTime() + seconds * 1000);
}

/** Why a stored token no longer speaks for its user, or undefined while it does. */
export function tokenProblem(token: TokenRecord, now: string): string | undefined {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt <= now) return 'expired';
  if (!token.user.enabled) return 'user disabled';
  if (token.project) {
    if (!token.project.enabled) return 'project disabled';
    // Keystone invalidates a project token once its user holds no role there any more.
    if (token.roles.length === 0) return 'no role on project';
  }
  return undefined;
}
