import { test } from 'node:test';
import assert from 'node:assert/strict';
import { impliedRoleNames } from '../../../../src/server/identity/roles.js';

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
