/**
 * The balancer provisioning controller: `reconcile(balancerId)` reads the balancer, its amphorae, ports and
 * security group, asks the planner for the next steps, runs them and runs again until the plan is empty. It is
 * woken by the change log (any write to a balancer or an amphora), by health reports, and by a periodic resync
 * of every balancer, so the same path serves a new balancer, a server restart and a repair.
 *
 * Ports and security groups are made through the Network API's service layer in-process, as the balancer
 * service's own identity (an admin of the admin project): the VIP port in the balancer's project, the VRRP and
 * member ports and the `lb-<id>` group in the service's, as Octavia does.
 */
import type { Logger } from '../../lib/logger.js';
import type { AuthContext } from '../../server/auth.js';
import type { WireObject } from '../../server/network/attributes.js';
import { defaultNetworkConfig } from '../../server/network/config.js';
import type { ResourceService } from '../../server/network/resource.js';
import { createNetworkServices } from '../../server/network/resources/index.js';
import { findProjectByName } from '../../server/identity/repository.js';
import { DEFAULT_DOMAIN_ID } from '../../server/identity/model.js';
import type { Store } from '../../store/store.js';
import type { Compute } from './compute.js';
import type { BalancerConfigRevisions } from './config-revisions.js';
import type { BalancerLifecycle } from './lifecycle.js';
import {
  planBalancer,
  ROLE_PRIORITY,
  VRRP_ID,
  type BalancerAction,
  type DesiredRule,
  type ObservedPort,
  type ObservedState,
  type SecurityGroupRule,
} from './planner.js';
import * as records from './records.js';
import { VRRP_INTERFACE } from './amphora-target.js';
import { WorkQueue, type ReconcileOutcome } from './work-queue.js';

export const DEVICE_OWNER = 'Octavia';
const VRRP_PORT_PREFIX = 'octavia-lb-vrrp-';
const MEMBER_PORT_PREFIX = 'octavia-lb-member-';

export interface BalancerControllerOptions {
  /** Where amphora VMs are made; undefined: nowhere, and creating a balancer ends in ERROR. */
  compute: Compute | undefined;
  /** An amphora not heard from for this long is failed over. */
  heartbeatTimeoutMs: number;
  /** How long a new amphora may take to send its first report. */
  bootTimeoutMs: number;
  /** A balancer pending longer than this goes to ERROR. */
  provisioningTimeoutMs: number;
  /** Every balancer is reconciled this often, whatever the log said. */
  resyncMs: number;
  /** How often to recheck a balancer that waits for its amphorae. */
  waitPollMs: number;
}

export const DEFAULT_CONTROLLER_OPTIONS: Omit<BalancerControllerOptions, 'compute'> = {
  heartbeatTimeoutMs: 3000,
  bootTimeoutMs: 60_000,
  provisioningTimeoutMs: 300_000,
  resyncMs: 30_000,
  waitPollMs: 1000,
};

export class BalancerController {
  private readonly queue: WorkQueue;
  private readonly ports: ResourceService;
  private readonly groups: ResourceService;
  private readonly rules: ResourceService;
  private serviceAuth: AuthContext | undefined;
  private resync: NodeJS.Timeout | undefined;
  private readonly onChanged = (balancerId: string) => this.queue.add(balancerId);

  constructor(
    private readonly store: Store,
    private readonly revisions: BalancerConfigRevisions,
    private readonly lifecycle: BalancerLifecycle,
    private readonly logger: Logger,
    private readonly options: BalancerControllerOptions,
  ) {
    const services = createNetworkServices(defaultNetworkConfig, store);
    this.ports = services.get('port')!;
    this.groups = services.get('security_group')!;
    this.rules = services.get('security_group_rule')!;
    this.queue = new WorkQueue((id) => this.reconcile(id), logger);
  }

  start(): void {
    this.revisions.on('changed', this.onChanged);
    const resyncAll = () =>
      void this.store
        .read((db) => records.balancerIds(db))
        .then((ids) => ids.forEach((id) => this.queue.add(id)))
        .catch((err: unknown) => this.logger.error({ err }, 'balancer resync failed'));
    resyncAll();
    this.resync = setInterval(resyncAll, this.options.resyncMs);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    this.revisions.off('changed', this.onChanged);
    clearInterval(this.resync);
    await this.queue.stop();
  }

  /** Look at this balancer soon (a health report came, a failover was asked for). */
  enqueue(balancerId: string): void {
    this.queue.add(balancerId);
  }

  async reconcile(balancerId: string): Promise<ReconcileOutcome> {
    const state = await this.observe(balancerId);
    if (!state) return {};
    const plan = planBalancer(state);
    for (const action of plan.actions) {
      this.logger.info({ balancer: balancerId, action }, 'balancer step');
      await this.execute(state, action);
    }
    if (plan.actions.length) return { requeueAfterMs: 0 };
    return plan.waitingFor ? { requeueAfterMs: this.options.waitPollMs } : {};
  }

  private async auth(): Promise<AuthContext> {
    if (this.serviceAuth) return this.serviceAuth;
    const project = await this.store.read((db) => findProjectByName(db, DEFAULT_DOMAIN_ID, 'admin'));
    if (!project) throw new Error('the admin project does not exist; the balancer service acts as its admin');
    this.serviceAuth = {
      userId: 'octavia',
      userName: 'octavia',
      userDomainId: DEFAULT_DOMAIN_ID,
      projectId: project.id,
      projectName: project.name,
      projectDomainId: DEFAULT_DOMAIN_ID,
      roles: ['admin'],
      isAdmin: true,
      expiresAt: '9999-12-31T23:59:59Z',
    };
    return this.serviceAuth;
  }

  private async observe(balancerId: string): Promise<ObservedState | undefined> {
    const auth = await this.auth();
    const read = await this.store.read(async (db) => {
      const balancer = await records.readBalancer(db, balancerId);
      if (!balancer) return undefined;
      return {
        balancer,
        amphorae: await records.amphoraeOf(db, balancerId),
        listeners: await records.listenerPorts(db, balancerId),
        memberSubnets: await records.memberSubnetIds(db, balancerId),
      };
    });
    if (!read) return undefined;
    const { balancer, amphorae } = read;
    const ports = await this.list(this.ports, auth, { device_owner: DEVICE_OWNER, device_id: [`lb-${balancerId}`, ...amphorae.map((a) => a.id)] });
    const subnets = await this.store.read(async (db) =>
      read.memberSubnets.length ? ((await db.selectFrom('subnets').select(['id', 'network_id']).where('id', 'in', read.memberSubnets).execute()) as { id: string; network_id: string }[]) : [],
    );
    const group = (await this.list(this.groups, auth, { name: securityGroupName(balancerId), project_id: auth.projectId }))[0];
    const rules = group ? await this.list(this.rules, auth, { security_group_id: group.id as string, direction: 'ingress' }) : [];
    const now = Date.now();
    return {
      balancer: {
        ...balancer,
        memberNetworkIds: [...new Set(subnets.map((s) => s.network_id))].filter((n) => n !== balancer.vipNetworkId).sort(),
        configRevision: this.revisions.revisionOf(balancerId),
        listenerPorts: read.listeners,
        pendingForMs: Math.max(0, now - Date.parse(balancer.updatedAt)),
      },
      amphorae: amphorae.map((a) => {
        const health = records.healthOf(a);
        return {
          id: a.id,
          role: (a.role ?? 'STANDALONE') as 'MASTER' | 'BACKUP' | 'STANDALONE',
          status: records.amphoraStatusOf(a),
          computeId: a.compute_id,
          host: a.host,
          appliedConfigRevision: a.applied_config_revision === null ? null : Number(a.applied_config_revision),
          applyError: health?.applyError ?? null,
          reporting: a.heartbeat_at !== null && now - Date.parse(a.heartbeat_at) <= this.options.heartbeatTimeoutMs,
          failoverRequested: Number(a.failover_requested) === 1,
        };
      }),
      ports: ports.map((p) => observedPort(p, balancerId)),
      securityGroup: group ? { id: group.id as string, rules: rules.map((r) => observedRule(r, group.id as string)) } : null,
      computeAvailable: this.options.compute !== undefined,
      provisioningTimeoutMs: this.options.provisioningTimeoutMs,
    };
  }

  private async list(service: ResourceService, auth: AuthContext, params: Record<string, string | string[]>): Promise<WireObject[]> {
    return (await service.list(auth, params, '')).items;
  }

  private async execute(state: ObservedState, action: BalancerAction): Promise<void> {
    const auth = await this.auth();
    const { balancer } = state;
    const compute = this.options.compute;
    switch (action.kind) {
      case 'createVipPort': {
        // Only a network given: the Network API picks the address, and its subnet becomes the VIP subnet.
        const fixedIp = { ...(balancer.vipSubnetId ? { subnet_id: balancer.vipSubnetId } : {}), ...(balancer.vipAddress ? { ip_address: balancer.vipAddress } : {}) };
        const port = await this.createPort(auth, {
          network_id: balancer.vipNetworkId,
          project_id: balancer.projectId,
          name: `octavia-lb-${balancer.id}`,
          device_owner: DEVICE_OWNER,
          device_id: `lb-${balancer.id}`,
          ...(Object.keys(fixedIp).length ? { fixed_ips: [fixedIp] } : {}),
        });
        const fixed = (port.fixed_ips as { subnet_id: string; ip_address: string }[]).find((f) => !f.ip_address.includes(':')) ?? (port.fixed_ips as { subnet_id: string; ip_address: string }[])[0];
        await this.store.write((tx) => records.setBalancerVip(tx, balancer.id, { portId: port.id as string, address: fixed.ip_address, subnetId: fixed.subnet_id }));
        return;
      }
      case 'createSecurityGroup':
        await this.groups.create(auth, { security_group: { name: securityGroupName(balancer.id), project_id: auth.projectId, description: `Security group for load balancer ${balancer.id}` } });
        return;
      case 'addSecurityGroupRule':
        await this.rules.create(auth, { security_group_rule: ruleBody(action.rule, state.securityGroup!.id, auth.projectId) });
        return;
      case 'removeSecurityGroupRule':
        await this.rules.delete(auth, action.ruleId, undefined);
        return;
      case 'deleteSecurityGroup':
        await ignoreNotFound(this.groups.delete(auth, action.securityGroupId, undefined));
        return;
      case 'createAmphora':
        await this.store.write((tx) => records.insertAmphora(tx, balancer, action.role, ROLE_PRIORITY[action.role], VRRP_ID));
        return;
      case 'createVrrpPort': {
        const port = await this.createPort(auth, {
          network_id: balancer.vipNetworkId,
          project_id: auth.projectId,
          name: `${VRRP_PORT_PREFIX}${action.amphoraId}`,
          device_owner: DEVICE_OWNER,
          device_id: action.amphoraId,
          fixed_ips: [{ subnet_id: balancer.vipSubnetId! }],
          security_groups: [state.securityGroup!.id],
          allowed_address_pairs: [{ ip_address: balancer.vipAddress }],
        });
        const vipPort = state.ports.find((p) => p.kind === 'vip')!;
        await this.store.write((tx) =>
          records.updateAmphora(tx, action.amphoraId, balancer.projectId, {
            vrrp_port_id: port.id as string,
            vrrp_ip: (port.fixed_ips as { ip_address: string }[])[0].ip_address,
            vrrp_interface: VRRP_INTERFACE,
            ha_port_id: vipPort.id,
            ha_ip: vipPort.address,
          }),
        );
        return;
      }
      case 'createMemberPort':
        // The amphora only opens connections to members: no filtering is needed on this side.
        await this.createPort(auth, {
          network_id: action.networkId,
          project_id: auth.projectId,
          name: `${MEMBER_PORT_PREFIX}${action.amphoraId}`,
          device_owner: DEVICE_OWNER,
          device_id: action.amphoraId,
          port_security_enabled: false,
        });
        return;
      case 'createVm': {
        const vm = await compute!.createAmphoraVm({ amphoraId: action.amphoraId, ports: action.portIds, avoidHosts: action.avoidHosts });
        await this.store.write((tx) => records.updateAmphora(tx, action.amphoraId, balancer.projectId, { compute_id: vm.computeId, host: vm.host, cached_zone: vm.host, status: 'ALLOCATED' }));
        return;
      }
      case 'attachPort':
        await compute!.attachPort(action.computeId, action.portId);
        return;
      case 'retireAmphora': {
        if (action.computeId) {
          if (!compute) throw new Error(`amphora ${action.amphoraId} has a VM, but no compute service is configured to remove it`);
          await compute.deleteAmphoraVm(action.computeId);
        }
        for (const p of state.ports.filter((p) => p.amphoraId === action.amphoraId)) await ignoreNotFound(this.ports.delete(auth, p.id, undefined));
        await this.store.write((tx) => records.deleteAmphoraRow(tx, action.amphoraId, balancer.projectId));
        return;
      }
      case 'deletePort':
        await ignoreNotFound(this.ports.delete(auth, action.portId, undefined));
        return;
      case 'complete':
        await this.store.write((tx) => this.lifecycle.complete(tx, balancer.id));
        return;
      case 'fail':
        this.logger.warn({ balancer: balancer.id, reason: action.reason }, 'balancer provisioning failed');
        await this.store.write((tx) => this.lifecycle.fail(tx, balancer.id, action.reason));
        return;
      case 'setDegraded':
        await this.store.write((tx) => this.lifecycle.setDegraded(tx, balancer.id));
        return;
    }
  }

  private async createPort(auth: AuthContext, body: Record<string, unknown>): Promise<WireObject> {
    return (await this.ports.create(auth, { port: body })).items[0];
  }
}

export const securityGroupName = (balancerId: string) => `lb-${balancerId}`;

function observedPort(p: WireObject, balancerId: string): ObservedPort {
  const deviceId = p.device_id as string;
  const name = p.name as string;
  const vip = deviceId === `lb-${balancerId}`;
  return {
    id: p.id as string,
    kind: vip ? 'vip' : name.startsWith(VRRP_PORT_PREFIX) ? 'vrrp' : 'member',
    networkId: p.network_id as string,
    amphoraId: vip ? null : deviceId,
    host: (p['binding:host_id'] as string | undefined) ?? '',
    address: (p.fixed_ips as { ip_address: string }[])[0]?.ip_address ?? null,
  };
}

function observedRule(r: WireObject, groupId: string): SecurityGroupRule {
  return {
    id: r.id as string,
    protocol: String(r.protocol ?? ''),
    portRangeMin: (r.port_range_min as number | null) ?? null,
    portRangeMax: (r.port_range_max as number | null) ?? null,
    remoteSelf: r.remote_group_id === groupId,
    ethertype: r.ethertype as 'IPv4' | 'IPv6',
  };
}

function ruleBody(rule: DesiredRule, groupId: string, projectId: string): Record<string, unknown> {
  return {
    security_group_id: groupId,
    project_id: projectId,
    direction: 'ingress',
    ethertype: rule.ethertype,
    protocol: rule.protocol,
    port_range_min: rule.portRangeMin,
    port_range_max: rule.portRangeMax,
    ...(rule.remoteSelf ? { remote_group_id: groupId } : {}),
  };
}

/** A removal repeated after a crash finds the object already gone, which is what it wanted. */
async function ignoreNotFound(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}
