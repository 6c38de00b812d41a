import { forbidden } from '../../lib/errors.js';
import type { AuthContext } from '../auth.js';

/**
 * Octavia's default policies (octavia/policies/base.py with enforce_new_defaults, as octavia-tempest-plugin's
 * "advanced" RBAC tests expect):
 *   read:  load-balancer_observer + reader, or load-balancer_member + member, on the object's project;
 *          load-balancer_global_observer anywhere; an admin anywhere.
 *   write: load-balancer_member + member on the object's project; an admin anywhere.
 *   admin: load-balancer_admin. Octavia also admits a system-scoped `admin`; cloudnet has no system scope, and
 *          its cloud admin is the holder of `admin` (AuthContext.isAdmin), as in the other APIs.
 */
export function isLbAdmin(auth: AuthContext): boolean {
  return auth.isAdmin || auth.roles.includes('load-balancer_admin');
}

export function isGlobalReader(auth: AuthContext): boolean {
  return isLbAdmin(auth) || auth.roles.includes('load-balancer_global_observer');
}

export function canRead(auth: AuthContext, projectId: string): boolean {
  if (isGlobalReader(auth)) return true;
  if (projectId !== auth.projectId) return false;
  const has = (r: string) => auth.roles.includes(r);
  return (has('load-balancer_observer') && has('reader')) || (has('load-balancer_member') && has('member'));
}

export function canWrite(auth: AuthContext, projectId: string): boolean {
  if (isLbAdmin(auth)) return true;
  return projectId === auth.projectId && auth.roles.includes('load-balancer_member') && auth.roles.includes('member');
}

/** Octavia's PolicyForbidden. */
export const policyForbidden = () => forbidden('Policy does not allow this request to be performed.', 'PolicyForbidden');

export function requireRead(auth: AuthContext, projectId: string): void {
  if (!canRead(auth, projectId)) throw policyForbidden();
}

export function requireWrite(auth: AuthContext, projectId: string): void {
  if (!canWrite(auth, projectId)) throw policyForbidden();
}

export function requireLbAdmin(auth: AuthContext): void {
  if (!isLbAdmin(auth)) throw policyForbidden();
}
