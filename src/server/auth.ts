import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../lib/errors.js';

/** Who is calling, as established from a validated Keystone token. */
export interface AuthContext {
  userId: string;
  userName: string;
  userDomainId: string;
  projectId: string;
  projectName: string;
  projectDomainId: string;
  roles: string[];
  /** Holds the `admin` role on its project: may see and change every project's objects. */
  isAdmin: boolean;
  expiresAt: string;
}

export interface TokenValidator {
  /** The caller behind a token, or undefined when the token is unknown, revoked or expired. */
  validate(token: string): Promise<AuthContext | undefined>;
  /** Drops any cached answer for a token, so that a revocation made by this server applies at once. */
  forget?(token: string): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

/** Resolves `X-Auth-Token` into `request.auth`; 401 (in the API's fault format) without a valid token. */
export function requireToken(tokens: TokenValidator) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw unauthorized();
    const auth = await tokens.validate(token);
    if (!auth) throw unauthorized('The request you have made requires authentication.');
    request.auth = auth;
  };
}

export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

export function requireAdmin(request: FastifyRequest): AuthContext {
  const auth = authOf(request);
  if (!auth.isAdmin) throw forbidden('You are not authorized to perform the requested action: admin required.');
  return auth;
}
