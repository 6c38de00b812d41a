import { forbidden } from '../../lib/errors.js';
import type { AuthContext } from '../auth.js';

/**
 * Octavia's default policy as it was before the new Keystone defaults (octavia/policies/base.py, the rules that
 * `enforce_new_defaults = False` keeps): cloudnet has no system scope, and its cloud admin is the holder of the
 * Keystone `admin` role (AuthContext.isAdmin) as in the other APIs, which is what that policy says too.
 *   admin:  `admin` or load-balancer_admin, anywhere.
 *   read:   load-balancer_observer or load-balancer_member on the object's project; load-balancer_global_observer
 *           anywhere; an admin anywhere.
 *   write:  load-balancer_member on the object's project; an admin anywhere.
 *   quotas: read as above or load-balancer_quota_admin; written by load-balancer_quota_admin or an admin.
 */
export function isLbAdmin(auth: AuthContext): boolean {
  return auth.isAdmin || auth.roles.includes('load-balancer_admin');
}

export function isGlobalReader(auth: AuthContext): boolean {
  return isLbAdmin(auth) || auth.roles.includes('load-balancer_global_observer');
}

export function canRead(auth: AuthContext, projectId: string): boolean {
  if (isGlobalReader(auth)) return true;
  return projectId === auth.projectId && (auth.roles.includes('load-balancer_observer') || auth.roles.includes('load-balancer_member'));
}

export function canWrite(auth: AuthContext, projectId: string): boolean {
  if (isLbAdmin(auth)) return true;
  return projectId === auth.projectId && auth.roles.includes('load-balancer_member');
}

const isQuotaAdmin = (auth: AuthContext) => isLbAdmin(auth) || auth.roles.includes('load-balancer_quota_admin');

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

/** Who reads every project's quotas. */
export function isQuotaGlobalReader(auth: AuthContext): boolean {
  return isQuotaAdmin(auth) || isGlobalReader(auth);
}

export function requireQuotaRead(auth: AuthContext, projectId: string): void {
  if (!isQuotaGlobalReader(auth) && !canRead(auth, projectId)) throw policyForbidden();
}

export function requireQuotaWrite(auth: AuthContext): void {
  if (!isQuotaAdmin(auth)) throw policyForbidden();
}
