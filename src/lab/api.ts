/**
 * The lab as a client of the cloud: the few Identity and Network API calls it makes, in their wire shapes.
 * The lab uses the public APIs only, like any other client, so what it builds is what a user could build.
 */
import type { KeystoneSession } from '../lib/openstack-session.js';
import type { PortView, SubnetView } from './addresses.js';

export class CloudApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface NetworkView {
  id: string;
  name: string;
  project_id: string;
  mtu: number;
  subnets: string[];
}

export interface FullSubnetView extends SubnetView {
  name: string;
  network_id: string;
}

export interface FullPortView extends PortView {
  network_id: string;
  status: string;
  device_id: string;
  device_owner: string;
  security_groups: string[];
  'binding:host_id': string;
  port_security_enabled: boolean;
}

/** Neutron's agent listing (`GET /v2.0/agents`), the fields the lab reads. */
export interface AgentView {
  host: string;
  agent_type: string;
  alive: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class CloudApi {
  constructor(
    private readonly session: KeystoneSession,
    private readonly url: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, okStatuses: number[] = [200, 201, 204]): Promise<T> {
    const response = await this.session.fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!okStatuses.includes(response.status)) throw new CloudApiError(response.status, `${method} ${path}: HTTP ${response.status}: ${faultMessage(text)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // Network API

  async networkByNameOrId(nameOrId: string): Promise<NetworkView> {
    if (UUID.test(nameOrId)) return (await this.call<{ network: NetworkView }>('GET', `/network/v2.0/networks/${nameOrId}`)).network;
    const { networks } = await this.call<{ networks: NetworkView[] }>('GET', `/network/v2.0/networks?name=${encodeURIComponent(nameOrId)}`);
    if (networks.length === 0) throw new Error(`no network named '${nameOrId}'`);
    if (networks.length > 1) throw new Error(`${networks.length} networks are named '${nameOrId}'; give its id`);
    return networks[0];
  }

  async createNetwork(body: Record<string, unknown>): Promise<NetworkView> {
    return (await this.call<{ network: NetworkView }>('POST', '/network/v2.0/networks', { network: body })).network;
  }

  async subnetsOf(networkId: string): Promise<FullSubnetView[]> {
    return (await this.call<{ subnets: FullSubnetView[] }>('GET', `/network/v2.0/subnets?network_id=${networkId}`)).subnets;
  }

  async createSubnet(body: Record<string, unknown>): Promise<FullSubnetView> {
    return (await this.call<{ subnet: FullSubnetView }>('POST', '/network/v2.0/subnets', { subnet: body })).subnet;
  }

  /** A security group of the project by name, or by id as given. */
  async securityGroupId(nameOrId: string, projectId: string): Promise<string> {
    if (UUID.test(nameOrId)) return nameOrId;
    const path = `/network/v2.0/security-groups?name=${encodeURIComponent(nameOrId)}&project_id=${projectId}`;
    const { security_groups: groups } = await this.call<{ security_groups: { id: string }[] }>('GET', path);
    if (groups.length !== 1) throw new Error(groups.length ? `${groups.length} security groups are named '${nameOrId}'; give its id` : `no security group named '${nameOrId}' in project ${projectId}`);
    return groups[0].id;
  }

  async createSecurityGroup(body: Record<string, unknown>): Promise<{ id: string; name: string; project_id: string }> {
    return (await this.call<{ security_group: { id: string; name: string; project_id: string } }>('POST', '/network/v2.0/security-groups', { security_group: body })).security_group;
  }

  async createSecurityGroupRule(body: Record<string, unknown>): Promise<{ id: string }> {
    return (await this.call<{ security_group_rule: { id: string } }>('POST', '/network/v2.0/security-group-rules', { security_group_rule: body })).security_group_rule;
  }

  async createPort(body: Record<string, unknown>): Promise<FullPortView> {
    return (await this.call<{ port: FullPortView }>('POST', '/network/v2.0/ports', { port: body })).port;
  }

  async updatePort(id: string, body: Record<string, unknown>): Promise<FullPortView> {
    return (await this.call<{ port: FullPortView }>('PUT', `/network/v2.0/ports/${id}`, { port: body })).port;
  }

  async getPort(id: string): Promise<FullPortView> {
    return (await this.call<{ port: FullPortView }>('GET', `/network/v2.0/ports/${id}`)).port;
  }

  /** Deletes a port; one that is already gone is fine (a delete may be retried after a crash). */
  async deletePort(id: string): Promise<void> {
    await this.call('DELETE', `/network/v2.0/ports/${id}`, undefined, [204, 404]);
  }

  async agents(): Promise<AgentView[]> {
    return (await this.call<{ agents: AgentView[] }>('GET', '/network/v2.0/agents')).agents;
  }

  // Identity API (admin)

  async createProject(name: string): Promise<string> {
    return (await this.call<{ project: { id: string } }>('POST', '/identity/v3/projects', { project: { name, domain_id: 'default' } })).project.id;
  }

  async createUser(name: string, password: string, projectId: string): Promise<string> {
    const body = { user: { name, password, domain_id: 'default', default_project_id: projectId } };
    return (await this.call<{ user: { id: string } }>('POST', '/identity/v3/users', body)).user.id;
  }

  async grantRole(projectId: string, userId: string, roleName: string): Promise<void> {
    const { roles } = await this.call<{ roles: { id: string }[] }>('GET', `/identity/v3/roles?name=${encodeURIComponent(roleName)}`);
    if (roles.length !== 1) throw new Error(`no role named '${roleName}'`);
    await this.call('PUT', `/identity/v3/projects/${projectId}/users/${userId}/roles/${roles[0].id}`);
  }
}

/** The message of an OpenStack fault body (Neutron's NeutronError, Keystone's error), else the text itself. */
export function faultMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { NeutronError?: { message?: string }; error?: { message?: string }; faultstring?: string };
    return body.NeutronError?.message ?? body.error?.message ?? body.faultstring ?? text;
  } catch {
    return text.slice(0, 500);
  }
}
