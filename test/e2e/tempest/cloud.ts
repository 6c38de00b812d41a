import { randomBytes } from 'node:crypto';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import { jsonClient, type JsonClient, type JsonResponse } from '../../support/http.js';
import type { Account } from './config.js';

export type ApiResponse = JsonResponse;

/** A minimal OpenStack client for the harness's own setup calls (accounts, the public network, extensions). */
export class CloudClient {
  private constructor(
    readonly url: string,
    private readonly client: JsonClient,
  ) {}

  static async login(url: string, user: string, password: string, project: string): Promise<CloudClient> {
    const session = new KeystoneSession({ authUrl: `${url}/identity/v3`, username: user, password, projectName: project });
    return new CloudClient(url, jsonClient(url, await session.getToken()));
  }

  call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    switch (method) {
      case 'GET':
        return this.client.get(path);
      case 'POST':
        return this.client.post(path, body);
      case 'PUT':
        return this.client.put(path, body);
      case 'DELETE':
        return this.client.delete(path);
    }
    throw new Error(`unsupported method ${method}`);
  }

  /** Like `call`, but a status outside 2xx is an error naming the request. */
  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const response = await this.call(method, path, body);
    if (response.status < 200 || response.status > 299) {
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  /** Every endpoint URL of the service catalog. */
  async catalogUrls(): Promise<string[]> {
    const body = await this.ok('GET', '/identity/v3/auth/catalog');
    return (body.catalog as { endpoints: { url: string }[] }[]).flatMap((s) => s.endpoints.map((e) => e.url));
  }

  /** The aliases the Network API says it implements, sorted. */
  async networkExtensions(): Promise<string[]> {
    const body = await this.ok('GET', '/network/v2.0/extensions');
    return (body.extensions as { alias: string }[]).map((e) => e.alias).sort();
  }
}


export interface AccountPlan {
  /** Accounts holding `member` on a project of their own (tempest's primary, alt, …). */
  members: number;
  /** Accounts holding `admin` (typed `admin` for tempest) on a project of their own. */
  admins: number;
  /** Extra roles every member account also holds (e.g. `load-balancer_member` for octavia). */
  extraMemberRoles?: string[];
  /** Name prefix of the projects and users (default `tempest`). */
  prefix?: string;
}

export function planAccounts(plan: AccountPlan): Account[] {
  const prefix = plan.prefix ?? 'tempest';
  const accounts: Account[] = [];
  const password = () => `pw-${randomBytes(12).toString('base64url')}`;
  for (let i = 1; i <= plan.members; i++) {
    const name = `${prefix}-member-${i}`;
    accounts.push({ username: name, projectName: name, password: password(), roles: ['member', ...(plan.extraMemberRoles ?? [])] });
  }
  for (let i = 1; i <= plan.admins; i++) {
    const name = `${prefix}-admin-${i}`;
    accounts.push({ username: name, projectName: name, password: password(), roles: ['admin', 'member'], types: ['admin'] });
  }
  return accounts;
}

/**
 * Creates each account's project and user and grants its roles, through the Identity admin API as the cloud admin
 * (Keystone's calls: POST /v3/projects, POST /v3/users, PUT /v3/projects/{p}/users/{u}/roles/{r}).
 */
export async function provisionAccounts(admin: CloudClient, accounts: Account[]): Promise<void> {
  const roles = await admin.ok('GET', '/identity/v3/roles');
  const roleIds = new Map<string, string>((roles.roles as { id: string; name: string }[]).map((r) => [r.name, r.id]));
  for (const account of accounts) {
    const project = await admin.ok('POST', '/identity/v3/projects', {
      project: { name: account.projectName, domain_id: 'default', description: 'tempest pre-provisioned account', enabled: true },
    });
    const user = await admin.ok('POST', '/identity/v3/users', {
      user: { name: account.username, domain_id: 'default', password: account.password, default_project_id: project.project.id, enabled: true },
    });
    for (const role of account.roles) {
      const roleId = roleIds.get(role);
      if (!roleId) throw new Error(`the cloud has no role '${role}'`);
      await admin.ok('PUT', `/identity/v3/projects/${project.project.id}/users/${user.user.id}/roles/${roleId}`);
    }
  }
}
