import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAllowed, type Action, type Caller, type Target } from '../../../../src/server/key-manager/policy.js';

const P = 'project-p';
const caller = (roles: string[], userId = 'u-other', projectId = P): Caller => ({ userId, projectId, roles });
const target = (over: Partial<Target> = {}): Target => ({ projectId: P, creatorId: 'u-creator', readProjectAccess: true, readUsers: [], ...over });
const privateTarget = target({ readProjectAccess: false });

// [action, caller, target, allowed, why]
const cases: Array<[Action, Caller, Target | undefined, boolean, string]> = [
  ['secrets:post', caller(['member', 'reader']), undefined, true, 'member creates'],
  ['secrets:post', caller(['creator']), undefined, true, 'legacy creator creates'],
  ['secrets:post', caller(['reader']), undefined, false, 'reader does not'],
  ['secrets:post', caller(['observer']), undefined, false, 'observer does not'],
  ['secrets:get', caller(['observer']), undefined, true, 'observer lists'],
  ['secrets:get', caller(['audit']), undefined, false, 'audit does not list'],
  ['secret:get', caller(['member']), target(), true, 'member reads a non-private secret'],
  ['secret:get', caller(['member']), privateTarget, false, "member cannot read another's private secret"],
  ['secret:get', caller(['member'], 'u-creator'), privateTarget, true, 'its creator can'],
  ['secret:get', caller(['admin', 'member']), privateTarget, true, 'the project admin can'],
  ['secret:get', caller(['admin', 'member'], 'u-x', 'project-q'), target(), false, "another project's admin cannot"],
  ['secret:get', caller(['member'], 'u-x', 'project-q'), target(), false, 'another project cannot'],
  ['secret:get', caller([], 'u-x', 'project-q'), privateTarget, false, 'nor without roles'],
  ['secret:get', caller([], 'u-acl', 'project-q'), target({ readUsers: ['u-acl'] }), true, 'the read ACL lets a user of any project in'],
  ['secret:get', caller(['audit']), target(), true, 'audit reads metadata'],
  ['secret:decrypt', caller(['audit']), target(), false, 'but not payloads'],
  ['secret:decrypt', caller(['observer']), target(), true, 'observer decrypts non-private'],
  ['secret:decrypt', caller(['observer']), privateTarget, false, 'not private ones'],
  ['secret:decrypt', caller(['creator'], 'u-creator'), privateTarget, true, 'the legacy creator its own private one'],
  ['secret:put', caller(['creator']), privateTarget, true, 'legacy: any creator of the project'],
  ['secret:put', caller(['member']), privateTarget, false, "current: not another's private secret"],
  ['secret:put', caller([], 'u-acl', 'project-q'), target({ readUsers: ['u-acl'] }), false, 'the read ACL never writes'],
  ['secret:delete', caller(['creator']), target(), true, 'legacy creator, non-private'],
  ['secret:delete', caller(['creator']), privateTarget, false, 'legacy creator, private, not its own'],
  ['secret:delete', caller(['reader']), target(), false, 'reader cannot delete'],
  ['container:delete', caller(['creator']), target(), false, 'legacy: only its creator or an admin deletes a container'],
  ['container:delete', caller(['member']), target(), true, 'current: a member, non-private'],
  ['acls:get', caller(['member']), target(), false, "current: not another member's object"],
  ['acls:get', caller(['member'], 'u-creator'), target(), true, 'its creator'],
  ['acls:get', caller(['observer']), target(), true, 'legacy observer in the project'],
  ['acls:put_patch', caller(['member']), target(), false, "a member does not change another's ACL"],
  ['acls:put_patch', caller(['admin']), target(), true, 'the project admin does'],
  ['acls:delete', caller(['creator']), target(), true, 'legacy creator, non-private'],
];

for (const [action, who, on, allowed, why] of cases) {
  test(`${action}: ${why}`, () => assert.equal(isAllowed(action, who, on), allowed));
}
