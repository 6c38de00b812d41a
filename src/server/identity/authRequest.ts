import { unauthorized } from '../../lib/errors.js';
import { invalid, objectAt, optionalObjectAt, stringAt, type Json } from './validation.js';

// The body of POST /v3/auth/tokens, checked and reduced to what the service acts on.

export type DomainRef = { id: string } | { name: string };
/** A user or a project: by id, or by name within a domain. */
export type ScopedRef = { id: string } | { name: string; domain: DomainRef };

export interface AuthRequest {
  methods: Array<'password' | 'token'>;
  password?: { user: ScopedRef; password: string };
  token?: { id: string };
  /** A project, or 'unscoped' when the client asks for none; undefined lets the user's default project apply. */
  scope: { project: ScopedRef } | 'unscoped' | undefined;
}

const SUPPORTED_METHODS = new Set(['password', 'token']);

export function parseAuthRequest(body: unknown): AuthRequest {
  const auth = objectAt(isJson(body) ? body.auth : undefined, 'auth');
  const identity = objectAt(auth.identity, 'auth.identity');
  const methods = parseMethods(identity.methods);
  const request: AuthRequest = { methods, scope: parseScope(auth.scope) };
  if (methods.includes('password')) {
    const password = objectAt(identity.password, 'auth.identity.password');
    const user = objectAt(password.user, 'auth.identity.password.user');
    request.password = {
      user: parseScopedRef(user, 'auth.identity.password.user'),
      password: stringAt(user.password, 'auth.identity.password.user.password', 4096),
    };
  }
  if (methods.includes('token')) {
    const token = objectAt(identity.token, 'auth.identity.token');
    request.token = { id: stringAt(token.id, 'auth.identity.token.id', 1024) };
  }
  return request;
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null;
}

function parseMethods(value: unknown): AuthRequest['methods'] {
  const field = 'auth.identity.methods';
  if (value === undefined) throw invalid(field, 'is a required property');
  if (!Array.isArray(value) || value.length === 0) throw invalid(field, 'must be a non-empty list');
  if (!value.every((m): m is string => typeof m === 'string')) throw invalid(field, 'must be a list of strings');
  if (new Set(value).size !== value.length) throw invalid(field, 'must not repeat a method');
  // Keystone answers an unknown method with 401, not 400: the request is well formed, the method is not offered.
  if (!value.every((m) => SUPPORTED_METHODS.has(m))) throw unauthorized('Attempted to authenticate with an unsupported method.');
  return value as AuthRequest['methods'];
}

function parseScope(value: unknown): AuthRequest['scope'] {
  if (value === undefined) return undefined;
  if (value === 'unscoped') return 'unscoped';
  const scope = objectAt(value, 'auth.scope');
  if (scope.project !== undefined) {
    return { project: parseScopedRef(objectAt(scope.project, 'auth.scope.project'), 'auth.scope.project') };
  }
  // Domain and system scopes need domain and system role assignments, which this Keystone does not keep; like
  // Keystone for a user without such roles, it refuses them.
  if (scope.domain !== undefined || scope.system !== undefined || scope['OS-TRUST:trust'] !== undefined) {
    throw unauthorized('The request you have made requires authentication.');
  }
  throw invalid('auth.scope', "must name a 'project'");
}

function parseScopedRef(ref: Json, field: string): ScopedRef {
  if (ref.id !== undefined) return { id: stringAt(ref.id, `${field}.id`, 64) };
  if (ref.name === undefined) throw invalid(field, "needs 'id', or 'name' and 'domain'");
  const name = stringAt(ref.name, `${field}.name`, 255);
  return { name, domain: parseDomainRef(optionalObjectAt(ref.domain, `${field}.domain`), `${field}.domain`) };
}

function parseDomainRef(ref: Json | undefined, field: string): DomainRef {
  if (ref === undefined) throw invalid(field, 'is a required property when a name is given');
  if (ref.id !== undefined) return { id: stringAt(ref.id, `${field}.id`, 64) };
  if (ref.name !== undefined) return { name: stringAt(ref.name, `${field}.name`, 64) };
  throw invalid(field, "needs 'id' or 'name'");
}
