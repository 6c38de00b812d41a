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
