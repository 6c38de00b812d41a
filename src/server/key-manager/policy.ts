/**
 * Barbican's default policies. Barbican ships two rule sets and a deployment picks one
 * (`[oslo_policy] enforce_new_defaults`): the legacy one on its own roles (admin, creator, observer, audit) and the
 * current one on Keystone's (admin, member, reader). cloudnet admits a caller that either set admits, so clouds
 * whose users hold either kind of role work unchanged. Every rule on a secret or container also needs the caller's
 * token to be scoped to that object's project, except a grant by the object's read ACL.
 */
export type Action =
  | 'secrets:post'
  | 'secrets:get'
  | 'secret:get'
  | 'secret:decrypt'
  | 'secret:put'
  | 'secret:delete'
  | 'containers:post'
  | 'containers:get'
  | 'container:get'
  | 'container:delete'
  | 'acls:get'
  | 'acls:put_patch'
  | 'acls:delete';

export interface Caller {
  userId: string;
  projectId: string;
  roles: string[];
}

/** What the rules read of a secret or container. */
export interface Target {
  projectId: string;
  creatorId: string;
  /** The read ACL's project-access flag (true without an ACL): false makes the object private to its creator. */
  readProjectAccess: boolean;
  /** Users the read ACL names. */
  readUsers: string[];
}

/** Actions on a collection: there is no object yet, only the caller's project. */
const COLLECTION_RULES: Partial<Record<Action, { legacy: string[]; current: string[] }>> = {
  'secrets:post': { legacy: ['admin', 'creator'], current: ['member'] },
  'containers:post': { legacy: ['admin', 'creator'], current: ['member'] },
  'secrets:get': { legacy: ['admin', 'observer', 'creator'], current: ['member'] },
  'containers:get': { legacy: ['admin', 'observer', 'creator'], current: ['member'] },
};

export function isAllowed(action: Action, caller: Caller, target?: Target): boolean {
  const has = (role: string) => caller.roles.includes(role);
  const collection = COLLECTION_RULES[action];
  if (collection) return [...collection.legacy, ...collection.current].some(has);
  if (!target) return false;

  const sameProject = caller.projectId === target.projectId;
  const owner = caller.userId === target.creatorId;
  const notPrivate = target.readProjectAccess;
  const onReadAcl = target.readUsers.includes(caller.userId);
  const projectAdmin = sameProject && has('admin');
  // The current rules, the same for reading, changing and deleting an object; an ACL grant only reads.
  const member = sameProject && has('member') && (owner || notPrivate);
  const memberOwner = sameProject && has('member') && owner;
  const creator = sameProject && has('creator');

  switch (action) {
    case 'secret:get':
    case 'container:get':
      return projectAdmin || member || onReadAcl || (sameProject && notPrivate && ['observer', 'creator', 'audit', 'key-manager:service-admin'].some(has)) || (creator && owner);
    case 'secret:decrypt':
      return projectAdmin || member || onReadAcl || (sameProject && notPrivate && ['observer', 'creator'].some(has)) || (creator && owner);
    case 'secret:put':
      return projectAdmin || member || creator;
    case 'secret:delete':
      return projectAdmin || member || (creator && (owner || notPrivate));
    case 'container:delete':
      return projectAdmin || member || (creator && owner);
    // Barbican's ACL controllers leave the object's ACL out of what the rules see, so the current rules' "not
    // private" never holds there: only the project's admins and the object's creator manage its ACL.
    case 'acls:get':
      return projectAdmin || memberOwner || (sameProject && ['observer', 'creator'].some(has));
    case 'acls:put_patch':
    case 'acls:delete':
      return projectAdmin || memberOwner || (creator && (owner || notPrivate));
    default:
      return false;
  }
}
