import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveAssignments, impliedRoleNames } from '../../../../src/server/identity/roles.js';

for (const [held, implied] of [
  [['admin'], ['member', 'reader']],
  [['member'], ['reader']],
  [['reader'], []],
  [['admin', 'member'], ['reader']],
  [['load-balancer_member'], []],
  [['load-balancer_admin', 'member'], ['reader']],
  [[], []],
] as const) {
  test(`${JSON.stringify(held)} implies ${JSON.stringify(implied)}`, () => assert.deepEqual(impliedRoleNames([...held]), implied));
}

test('effective assignments add the implied roles once', () => {
  const roles = ['admin', 'member', 'reader', 'load-balancer_member'].map((name) => ({ id: `id-${name}`, name }));
  const grant = (user: string, project: string, role: string) => ({ user: { id: user }, project: { id: project }, role: { id: `id-${role}`, name: role } });
  const result = effectiveAssignments(
    [grant('u1', 'p1', 'admin'), grant('u1', 'p1', 'reader'), grant('u2', 'p2', 'load-balancer_member'), grant('u3', 'p3', 'member')],
    roles,
  );
  assert.deepEqual(
    result.map((a) => `${a.user.id}/${a.project.id}/${a.role.name}`),
    ['u1/p1/admin', 'u1/p1/reader', 'u2/p2/load-balancer_member', 'u3/p3/member', 'u1/p1/member', 'u3/p3/reader'],
  );
  assert.deepEqual(effectiveAssignments([grant('u1', 'p1', 'admin')], roles.filter((r) => r.name !== 'member')).length, 2, 'a deleted role is not implied');
});
