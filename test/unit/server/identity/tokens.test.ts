import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateAuditId, generateTokenId, hashTokenId, keystoneTime, tokenProblem } from '../../../../src/server/identity/tokens.js';
import type { TokenRecord } from '../../../../src/server/identity/model.js';

const NOW = '2026-11-26T12:00:00.000000Z';
const good: TokenRecord = {
  user: { id: 'u', name: 'alice', enabled: true, domain: { id: 'default', name: 'Default' } },
  project: { id: 'p', name: 'demo', enabled: true, domain: { id: 'default', name: 'Default' } },
  roles: [{ id: 'r', name: 'member' }],
  methods: ['password'],
  auditIds: ['a'],
  issuedAt: '2026-11-26T11:00:00.000000Z',
  expiresAt: '2026-11-26T12:00:00.001000Z',
  revokedAt: null,
};

const cases: Array<[string, TokenRecord, string | undefined]> = [
  ['a live project token', good, undefined],
  ['a live unscoped token without roles', { ...good, project: null, roles: [] }, undefined],
  ['a revoked token', { ...good, revokedAt: NOW }, 'revoked'],
  ['a token expiring this instant', { ...good, expiresAt: NOW }, 'expired'],
  ['an expired token', { ...good, expiresAt: '2026-11-26T11:59:59.999000Z' }, 'expired'],
  ['a disabled user', { ...good, user: { ...good.user, enabled: false } }, 'user disabled'],
  ['a disabled project', { ...good, project: { ...good.project!, enabled: false } }, 'project disabled'],
  ['a user without roles left on the project', { ...good, roles: [] }, 'no role on project'],
];

for (const [name, record, problem] of cases) {
  test(`tokenProblem: ${name}`, () => assert.equal(tokenProblem(record, NOW), problem));
}

test('keystoneTime has microseconds and a Z, and sorts as text', () => {
  assert.equal(keystoneTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
  assert.ok(keystoneTime(new Date(999)) < keystoneTime(new Date(1000)));
});

test('token ids are unique, opaque and stored only as a digest', () => {
  const a = generateTokenId();
  const b = generateTokenId();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.match(hashTokenId(a), /^[0-9a-f]{64}$/);
  assert.notEqual(hashTokenId(a), hashTokenId(b));
  assert.match(generateAuditId(), /^[A-Za-z0-9_-]{22}$/);
});

test('no token id starts with a dash, which command-line clients would read as an option', () => {
  // About one random id in 64 would; 2,000 ids meet that case many times over.
  for (let i = 0; i < 2000; i++) assert.doesNotMatch(generateTokenId(), /^-/);
});
