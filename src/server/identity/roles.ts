import type { NamedRef } from './model.js';

/**
 * Keystone's default role implications, as `keystone-manage bootstrap` creates them: admin implies member, member
 * implies reader. A token lists the roles its user holds and the roles those imply, so policies written for
 * `reader` admit members and admins too.
 */
const IMPLIES: Record<string, string[]> = { admin: ['member'], member: ['reader'] };

/** The names implied by `held`, transitively, that are not already held. */
export function impliedRoleNames(held: string[]): string[] {
  const all = new Set(held);
  const pending = [...held];
  while (pending.length > 0) {
    for (const implied of IMPLIES[pending.pop()!] ?? []) {
      if (!all.has(implied)) {
        all.add(implied);
        pending.push(implied);
      }
    }
  }
  return [...all].filter((name) => !held.includes(name)).sort();
}

/**
 * Role assignments as they take effect (`?effective`): each grant plus one entry per role it implies, without
 * repeating an assignment the user also holds directly. Implied roles missing from `roles` are left out.
 */
export function effectiveAssignments<A extends { role: NamedRef; user: { id: string }; project: { id: string } }>(
  assignments: A[],
  roles: NamedRef[],
): A[] {
  const byName = new Map(roles.map((r) => [r.name, r]));
  const seen = new Set<string>();
  const result: A[] = [];
  const add = (a: A) => {
    const key = `${a.user.id} ${a.project.id} ${a.role.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.push(a);
    }
  };
  for (const a of assignments) add(a);
  for (const a of assignments) {
    for (const name of impliedRoleNames([a.role.name])) {
      const role = byName.get(name);
      if (role) add({ ...a, role: { id: role.id, name: role.name } });
    }
  }
  return result;
}
