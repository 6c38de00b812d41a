import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthRequest, type AuthRequest } from '../../../../src/server/identity/authRequest.js';
import { ApiError } from '../../../../src/lib/errors.js';

const password = (user: object, scope?: unknown) => ({
  auth: { identity: { methods: ['password'], password: { user } }, ...(scope === undefined ? {} : { scope }) },
});

const accepted: Array<[string, unknown, AuthRequest]> = [
  [
    'user by name in a domain by name, project by name',
    password({ name: 'admin', domain: { name: 'Default' }, password: 'pw' }, { project: { name: 'admin', domain: { name: 'Default' } } }),
    {
      methods: ['password'],
      password: { user: { name: 'admin', domain: { name: 'Default' } }, password: 'pw' },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    },
  ],
  [
    'user by id, project by id',
    password({ id: 'u1', password: 'pw' }, { project: { id: 'p1' } }),
    { methods: ['password'], password: { user: { id: 'u1' }, password: 'pw' }, scope: { project: { id: 'p1' } } },
  ],
  [
    'domain by id, no scope',
    password({ name: 'alice', domain: { id: 'default' }, password: 'pw' }),
    { methods: ['password'], password: { user: { name: 'alice', domain: { id: 'default' } }, password: 'pw' }, scope: undefined },
  ],
  [
    'explicitly unscoped',
    password({ id: 'u1', password: 'pw' }, 'unscoped'),
    { methods: ['password'], password: { user: { id: 'u1' }, password: 'pw' }, scope: 'unscoped' },
  ],
  [
    'token method',
    { auth: { identity: { methods: ['token'], token: { id: 'abc' } }, scope: { project: { id: 'p1' } } } },
    { methods: ['token'], token: { id: 'abc' }, scope: { project: { id: 'p1' } } },
  ],
];

for (const [name, body, expected] of accepted) {
  test(`parses ${name}`, () => assert.deepEqual(parseAuthRequest(body), expected));
}

const rejected: Array<[string, unknown, number, RegExp]> = [
  ['no body', undefined, 400, /field 'auth': is a required property/],
  ['no identity', { auth: {} }, 400, /field 'auth.identity': is a required property/],
  ['no methods', { auth: { identity: {} } }, 400, /'auth.identity.methods': is a required property/],
  ['empty methods', { auth: { identity: { methods: [] } } }, 400, /'auth.identity.methods': must be a non-empty list/],
  ['unsupported method', { auth: { identity: { methods: ['totp'] } } }, 401, /unsupported method/],
  ['method without its section', { auth: { identity: { methods: ['password'] } } }, 400, /'auth.identity.password': is a required/],
  ['password not a string', password({ id: 'u', password: 5 }), 400, /'auth.identity.password.user.password': must be a string/],
  ['no password', password({ id: 'u' }), 400, /'auth.identity.password.user.password': is a required property/],
  ['user name without domain', password({ name: 'u', password: 'pw' }), 400, /'auth.identity.password.user.domain': is a required/],
  ['user with neither id nor name', password({ password: 'pw' }), 400, /'auth.identity.password.user': needs 'id'/],
  ['domain with neither', password({ name: 'u', domain: {}, password: 'pw' }), 400, /'auth.identity.password.user.domain': needs/],
  ['scope not an object', password({ id: 'u', password: 'pw' }, 7), 400, /'auth.scope': must be an object/],
  ['scope with nothing', password({ id: 'u', password: 'pw' }, {}), 400, /'auth.scope': must name a 'project'/],
  ['domain scope', password({ id: 'u', password: 'pw' }, { domain: { id: 'default' } }), 401, /requires authentication/],
  ['project id empty', password({ id: 'u', password: 'pw' }, { project: { id: '' } }), 400, /'auth.scope.project.id': must not be empty/],
];

for (const [name, body, status, message] of rejected) {
  test(`rejects ${name} with ${status}`, () => {
    assert.throws(
      () => parseAuthRequest(body),
      (err: unknown) => err instanceof ApiError && err.status === status && message.test(err.message),
    );
  });
}
