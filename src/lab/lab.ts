/**
 * A running lab: the control plane as a child `cloudnet server`, the fabric, N host namespaces each with its
 * `cloudnet host-agent` (run in the root namespace, managing its host namespace with --netns, so that it
 * reaches the server on 127.0.0.1 without giving any namespace a path out), the public namespace, and VMs.
 *
 * `Lab.start` is the programmatic entry (tests, later the amphora and Kubernetes parts of the lab);
 * `cloudnet lab up` is it plus a control socket and signal handling. Every change goes through one queue,
 * so `lab.json` is always written by one hand, in order.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { renderOpenrc, openrcVariables } from '../cli/openrc.js';
import type { Logger } from '../lib/logger.js';
import { KeystoneSession } from '../lib/openstack-session.js';
import { PUBLIC_NETWORK, publicGatewayAddress, tunnelIp, vmInterfaceConfig } from './addresses.js';
import { CloudApi, CloudApiError } from './api.js';
import { bootstrapCloud, DEMO_PROJECT } from './bootstrap.js';
import type { AmphoraVm, AmphoraVmRequest } from '../controllers/balancer/compute.js';
import { statePaths } from '../agents/amphora/reconciler.js';
import { LabError, serveControl, type LabControl, type VmRequest } from './control.js';
import { vmPortBody } from './vm-port.js';
import { hostName, interfaceNames, MAX_HOSTS, namespaceNames, namespacePrefix, newRunId, vmNameProblem } from './names.js';
import { deleteNetns, listNetns } from '../lib/netns.js';
import { nextRestart, type RestartBackoff } from '../lib/restart-backoff.js';
import { killNamespaceProcesses, runIpCommands, stopNamespaceProcesses } from './netns.js';
import { leastLoadedHost } from './placement.js';
import { isRunning, processStartTime, startCloudnet, stopProcess, waitUntil, type StartedProcess } from './processes.js';
import { AMPHORA_STATE_DIR, LAB_STATE_VERSION, labStatePath, readLabState, writeLabState, type AmphoraRecord, type HostRecord, type LabState, type VmRecord } from './state.js';
import { teardownLab } from './teardown.js';
import { amphoraNamespaceCommands, fabricCommands, hostCommands, publicCommands, vmCommands, vmInterfaceCommands, type IpCommand } from './topology.js';

export interface LabOptions {
  dir: string;
  hosts: number;
  /** Start a host agent per host (default true); without, the topology and API exist but nothing is wired. */
  agents?: boolean;
  logger: Logger;
  /** How long to wait for the server to answer and for the agents to report alive (default 30 s). */
  startTimeoutMs?: number;
  /** How long `createVm` waits for the port to become ACTIVE (default 20 s). */
  portActiveTimeoutMs?: number;
  /** Extra `cloudnet server` options (e.g. a shorter amphora heartbeat timeout for a test). */
  serverArgs?: string[];
}

const PHYSICAL_NETWORKS = [PUBLIC_NETWORK.physicalNetwork];
/** How soon a dead amphora agent is started again. */
const AGENT_RESTART: RestartBackoff = { minMs: 250, maxMs: 30_000, resetMs: 30_000 };

export class Lab implements LabControl {
  private readonly api: CloudApi;
  private readonly agents = new Map<string, StartedProcess>();
  private readonly amphoraAgents = new Map<string, StartedProcess>();
  /** Per amphora: agent exits in a row that came soon after their start (for the restart backoff). */
  private readonly amphoraAgentFailures = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private serverProcess: StartedProcess | undefined;
  private control: Server | undefined;

  private constructor(
    private readonly current: LabState,
    private readonly options: LabOptions,
    private readonly adminPassword: string,
    private readonly serverUrl: string,
  ) {
    this.api = new CloudApi(this.adminSession(), serverUrl);
  }

  /** Brings a lab up in `options.dir`; on any failure removes what it made and rethrows. */
  static async start(options: LabOptions): Promise<Lab> {
    const dir = resolve(options.dir);
    if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > MAX_HOSTS) throw new Error(`--hosts must be 1..${MAX_HOSTS}`);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    await clearLeftovers(dir, options.logger);

    const runId = newRunId();
    const state: LabState = {
      version: LAB_STATE_VERSION,
      runId,
      namespacePrefix: namespacePrefix(runId),
      dir,
      createdAt: new Date().toISOString(),
      phase: 'starting',
      supervisor: { pid: process.pid, startTime: processStartTime(process.pid) ?? '' },
      controlSocket: join(dir, 'lab.sock'),
      server: null,
      openrc: { admin: join(dir, 'openrc'), demo: null },
      namespaces: [],
      fabric: null,
      public: null,
      hosts: [],
      networks: {},
      vms: {},
      amphorae: {},
      files: ['cloudnet.db', 'cloudnet.db-wal', 'cloudnet.db-shm', 'openrc', 'openrc-demo', 'lab.sock', 'lab.json'].map((f) => join(dir, f)),
    };
    // A fresh cloud for each run: a database from a previous run would name ports of namespaces long gone.
    for (const f of state.files) rmSync(f, { force: true });
    writeLabState(state);

    let lab: Lab | undefined;
    try {
      const adminPassword = randomBytes(18).toString('base64url');
      const serverUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
      const started = (lab = new Lab(state, options, adminPassword, serverUrl));
      // The server's compute service is this lab, reached through the control socket: it answers first.
      started.control = await serveControl(state.controlSocket, started, options.logger);
      started.serverProcess = await startServer(state, serverUrl, adminPassword, options);
      void started.serverProcess.exited.then(({ code, signal }) => {
        if (!started.stopping) options.logger.error({ code, signal, log: state.server!.log }, 'cloudnet server exited; the lab is unusable until lab down and up');
      });
      await lab.bringUp();
      return lab;
    } catch (err) {
      options.logger.error({ err }, 'lab up failed; removing what it made');
      await (lab ? lab.down() : teardownLab(state, options.logger)).catch((e: unknown) => options.logger.error({ err: e }, 'lab teardown failed'));
      throw err;
    }
  }

  state(): LabState {
    return structuredClone(this.current);
  }

  /** The Network and Identity APIs as the lab's admin. */
  cloud(): CloudApi {
    return this.api;
  }

  /** An environment for a process acting as `user` (default admin): OS_* variables, e.g. for the openstack CLI. */
  openrcEnv(user: 'admin' | 'demo' = 'admin'): Record<string, string> {
    const file = user === 'admin' ? this.current.openrc.admin : this.current.openrc.demo;
    if (!file) throw new Error(`the lab has no openrc for ${user}`);
    return parseOpenrc(readFileSync(file, 'utf8'));
  }

  private adminSession(): KeystoneSession {
    return new KeystoneSession({ authUrl: `${this.serverUrl}/identity/v3`, username: 'admin', password: this.adminPassword, projectName: 'admin' });
  }

  private async bringUp(): Promise<void> {
    const s = this.current;
    const { logger } = this.options;
    writeFileSync(s.openrc.admin, renderOpenrc(openrcVariables({ url: s.server!.url, user: 'admin', password: this.adminPassword, project: 'admin', region: 'RegionOne' })), { mode: 0o600 });

    const fabric = namespaceNames.fabric(s.runId);
    await this.makeNamespace(fabric, fabricCommands(fabric, PHYSICAL_NETWORKS));
    s.fabric = {
      netns: fabric,
      underlayBridge: interfaceNames.underlayBridge,
      providerBridges: Object.fromEntries(PHYSICAL_NETWORKS.map((p) => [p, interfaceNames.providerBridge(p)])),
    };
    const publicNs = namespaceNames.public(s.runId);
    await this.makeNamespace(publicNs, publicCommands({ fabric, netns: publicNs, physicalNetwork: PUBLIC_NETWORK.physicalNetwork, address: publicGatewayAddress() }));
    s.public = { netns: publicNs, interface: interfaceNames.publicInterface, address: publicGatewayAddress() };
    for (let i = 1; i <= this.options.hosts; i++) {
      const name = hostName(i);
      const netns = namespaceNames.host(s.runId, name);
      await this.makeNamespace(netns, hostCommands({ fabric, netns, name, index: i, physicalNetworks: PHYSICAL_NETWORKS }));
      s.hosts.push({
        name,
        netns,
        tunnelIp: tunnelIp(i),
        underlayInterface: interfaceNames.hostUnderlay,
        providerInterfaces: Object.fromEntries(PHYSICAL_NETWORKS.map((p) => [p, interfaceNames.hostProvider(p)])),
        agent: null,
      });
    }
    writeLabState(s);
    logger.info({ prefix: s.namespacePrefix, hosts: s.hosts.length }, 'lab topology made');

    const boot = await bootstrapCloud(this.api);
    s.networks = boot.networks;
    s.openrc.demo = join(s.dir, 'openrc-demo');
    writeFileSync(s.openrc.demo, renderOpenrc(openrcVariables({ url: s.server!.url, user: boot.demo.user, password: boot.demo.password, project: DEMO_PROJECT, region: 'RegionOne' })), { mode: 0o600 });
    writeLabState(s);
    logger.info({ networks: Object.keys(s.networks) }, 'lab cloud bootstrapped');

    if (this.options.agents ?? true) {
      for (const host of s.hosts) this.launchAgent(host);
      writeLabState(s);
      await this.waitForAgents(s.hosts.map((h) => h.name));
    }
    s.phase = 'ready';
    writeLabState(s);
    logger.info({ dir: s.dir, server: s.server!.url }, 'lab ready');
  }

  /** Records the namespace before making it, so that a crash in between still leaves it findable. */
  private async makeNamespace(netns: string, commands: IpCommand[]): Promise<void> {
    this.current.namespaces.push(netns);
    writeLabState(this.current);
    await runIpCommands(commands);
  }

  // VMs

  createVm(request: VmRequest): Promise<VmRecord> {
    return this.serialized(async () => {
      const s = this.current;
      const problem = vmNameProblem(request.name);
      if (problem) throw new LabError(400, problem);
      if (s.vms[request.name]) throw new LabError(409, `a VM named '${request.name}' exists`);
      if (request.host !== undefined && !s.hosts.some((h) => h.name === request.host)) {
        throw new LabError(404, `no host '${request.host}' in this lab (hosts: ${s.hosts.map((h) => h.name).join(', ')})`);
      }
      const network = await this.api.networkByNameOrId(request.network).catch(asNotFound);
      const host = request.host ?? leastLoadedHost(s.hosts.map((h) => h.name), Object.values(s.vms));
      const hostRecord = s.hosts.find((h) => h.name === host)!;
      const subnets = await this.api.subnetsOf(network.id);
      const securityGroupIds = await Promise.all((request.securityGroups ?? []).map((g) => this.api.securityGroupId(g, network.project_id).catch(asNotFound)));
      const port = await this.api.createPort(vmPortBody(request.name, host, request, { network, subnets, securityGroupIds })).catch(asRefused);
      const vm: VmRecord = {
        name: request.name,
        netns: namespaceNames.vm(s.runId, request.name),
        host,
        portId: port.id,
        networkId: network.id,
        tap: interfaceNames.tap(port.id),
        mac: port.mac_address,
        addresses: [],
      };
      s.vms[vm.name] = vm;
      try {
        const config = vmInterfaceConfig(port, subnets, network.mtu);
        vm.addresses = config.addresses;
        await this.makeNamespace(vm.netns, vmCommands({ netns: vm.netns, hostNetns: hostRecord.netns, tap: vm.tap, config }));
      } catch (err) {
        await this.removeVm(vm);
        throw err;
      }
      writeLabState(s);
      this.options.logger.info({ vm: vm.name, host, port: port.id, addresses: vm.addresses }, 'VM created');
      if (hostRecord.agent) await this.waitForPortActive(vm);
      return structuredClone(vm);
    });
  }

  deleteVm(name: string): Promise<void> {
    return this.serialized(async () => {
      const vm = this.current.vms[name];
      if (!vm) throw new LabError(404, `no VM named '${name}'`);
      await this.removeVm(vm);
      this.options.logger.info({ vm: name }, 'VM deleted');
    });
  }

  private async removeVm(vm: VmRecord): Promise<void> {
    await this.api.deletePort(vm.portId);
    await killNamespaceProcesses(vm.netns);
    await deleteNetns(vm.netns);
    delete this.current.vms[vm.name];
    this.current.namespaces = this.current.namespaces.filter((ns) => ns !== vm.netns);
    writeLabState(this.current);
  }

  private async waitForPortActive(vm: VmRecord): Promise<void> {
    const timeout = this.options.portActiveTimeoutMs ?? 20_000;
    let status = '';
    const active = await waitUntil(async () => {
      // A lab going down does not wait out a port that will never be wired.
      if (this.stopping) throw new LabError(503, `the lab is stopping; VM ${vm.name} was made but not waited for`);
      return (status = (await this.api.getPort(vm.portId)).status) === 'ACTIVE';
    }, timeout, 100);
    if (!active) {
      const host = this.current.hosts.find((h) => h.name === vm.host)!;
      throw new LabError(
        504,
        `VM ${vm.name} is made but its port ${vm.portId} is ${status || 'unknown'}, not ACTIVE, after ${timeout / 1000} s; ` +
          `the agent of ${vm.host} should have wired ${vm.tap} (see ${host.agent?.log ?? 'its log'}); 'cloudnet lab vm delete ${vm.name}' removes it`,
      );
    }
  }

  // Host agents

  stopAgent(host: string): Promise<void> {
    return this.serialized(async () => {
      const record = this.host(host);
      if (!record.agent) throw new LabError(409, `the agent of ${host} is not running`);
      await stopProcess(record.agent);
      this.agents.delete(host);
      record.agent = null;
      writeLabState(this.current);
    });
  }

  startAgent(host: string): Promise<void> {
    return this.serialized(async () => {
      const record = this.host(host);
      if (record.agent && isRunning(record.agent)) throw new LabError(409, `the agent of ${host} is running (pid ${record.agent.pid})`);
      this.launchAgent(record);
      writeLabState(this.current);
      await this.waitForAgents([host]);
    });
  }

  private host(name: string): HostRecord {
    const record = this.current.hosts.find((h) => h.name === name);
    if (!record) throw new LabError(404, `no host '${name}' in this lab`);
    return record;
  }

  private launchAgent(host: HostRecord): void {
    const s = this.current;
    const args = [
      '--host', host.name,
      '--server', s.server!.url,
      '--netns', host.netns,
      '--tunnel-ip', host.tunnelIp,
      ...Object.entries(host.providerInterfaces).flatMap(([physnet, dev]) => ['--provider-interface', `${physnet}:${dev}`]),
    ];
    const started = startCloudnet('host-agent', args, { log: join(s.dir, 'logs', `${host.name}.log`), env: { ...process.env, ...this.openrcEnv('admin') } });
    host.agent = started.record;
    this.agents.set(host.name, started);
    // The lab does not restart an agent that dies: it is a test bench, and a hidden restart would mask a
    // crash that a test should see. The log says so, and `cloudnet lab agent start HOST` starts it again.
    void started.exited.then(({ code, signal }) => {
      if (this.agents.get(host.name) !== started) return;
      this.agents.delete(host.name);
      host.agent = null;
      if (!this.stopping) {
        this.options.logger.error({ host: host.name, code, signal, log: started.record.log }, 'host agent exited; start it again with cloudnet lab agent start');
        writeLabState(this.current);
      }
    });
  }

  /** Until each host's agent is listed alive by the Network API (`GET /v2.0/agents`). */
  private async waitForAgents(hosts: string[]): Promise<void> {
    const timeout = this.options.startTimeoutMs ?? 30_000;
    let missing = hosts;
    const ok = await waitUntil(async () => {
      const dead = hosts.filter((h) => !this.agents.has(h));
      if (dead.length) throw new Error(`the agent of ${dead.join(', ')} exited while starting; see ${join(this.current.dir, 'logs')}`);
      const agents = await this.api.agents();
      missing = hosts.filter((h) => !agents.some((a) => a.host === h && a.alive));
      return missing.length === 0;
    }, timeout, 200);
    if (!ok) throw new Error(`the agents of ${missing.join(', ')} did not report alive within ${timeout / 1000} s; see ${join(this.current.dir, 'logs')}`);
  }

  // Amphorae: the lab as the balancer controller's compute service

  createAmphoraVm(request: AmphoraVmRequest): Promise<AmphoraVm> {
    return this.serialized(async () => {
      const s = this.current;
      const existing = s.amphorae[request.amphoraId];
      // Asked again after a crash or a lost answer: the VM made the first time is the answer.
      if (existing) return { host: existing.host, computeId: existing.amphoraId };
      if (!/^[A-Za-z0-9-]{1,64}$/.test(request.amphoraId)) throw new LabError(400, `an amphora id is letters, digits and dashes, not '${request.amphoraId}'`);
      const candidates = s.hosts.filter((h) => !request.avoidHosts.includes(h.name)).map((h) => h.name);
      if (!candidates.length) throw new LabError(409, `no host apart from ${request.avoidHosts.join(', ')} for amphora ${request.amphoraId}`);
      const host = leastLoadedHost(candidates, [...Object.values(s.vms), ...Object.values(s.amphorae)]);
      const amphora: AmphoraRecord = {
        amphoraId: request.amphoraId,
        netns: namespaceNames.amphora(s.runId, request.amphoraId),
        host,
        interfaces: [],
        stateDir: join(s.dir, AMPHORA_STATE_DIR, request.amphoraId),
        agent: null,
      };
      // Refused here, with the reason, rather than by an agent whose HAProxy would never start.
      try {
        statePaths(amphora.stateDir);
      } catch (err) {
        throw new LabError(400, (err as Error).message);
      }
      s.amphorae[amphora.amphoraId] = amphora;
      try {
        await this.makeNamespace(amphora.netns, amphoraNamespaceCommands(amphora.netns));
        for (const portId of request.ports) await this.plugAmphoraPort(amphora, portId);
        mkdirSync(amphora.stateDir, { recursive: true });
        this.launchAmphoraAgent(amphora);
      } catch (err) {
        await this.removeAmphora(amphora);
        throw err;
      }
      writeLabState(s);
      this.options.logger.info({ amphora: amphora.amphoraId, host, interfaces: amphora.interfaces.map((i) => `${i.name} ${i.addresses.join(' ')}`) }, 'amphora VM created');
      return { host, computeId: amphora.amphoraId };
    });
  }

  attachPort(computeId: string, portId: string): Promise<void> {
    return this.serialized(async () => {
      const amphora = this.amphora(computeId);
      if (amphora.interfaces.some((i) => i.portId === portId)) return;
      await this.plugAmphoraPort(amphora, portId);
      writeLabState(this.current);
    });
  }

  deleteAmphoraVm(computeId: string): Promise<void> {
    return this.serialized(async () => {
      const amphora = this.current.amphorae[computeId];
      if (amphora) await this.removeAmphora(amphora);
      this.options.logger.info({ amphora: computeId }, 'amphora VM deleted');
    });
  }

  private amphora(computeId: string): AmphoraRecord {
    const record = this.current.amphorae[computeId];
    if (!record) throw new LabError(404, `no amphora VM '${computeId}' in this lab`);
    return record;
  }

  /** Binds the port to the amphora's host and wires it as the next ethN; only eth0 gets default routes. */
  private async plugAmphoraPort(amphora: AmphoraRecord, portId: string): Promise<void> {
    const host = this.host(amphora.host);
    const port = await this.api.updatePort(portId, { 'binding:host_id': amphora.host });
    const network = await this.api.networkByNameOrId(port.network_id);
    const config = vmInterfaceConfig(port, await this.api.subnetsOf(port.network_id), network.mtu);
    const index = amphora.interfaces.length;
    const wiring = { netns: amphora.netns, hostNetns: host.netns, tap: interfaceNames.tap(port.id), dev: interfaceNames.vmInterfaceAt(index), config, defaultRoutes: index === 0 };
    amphora.interfaces.push({ name: wiring.dev, portId, tap: wiring.tap, mac: port.mac_address, addresses: config.addresses });
    writeLabState(this.current);
    await runIpCommands(vmInterfaceCommands(wiring));
  }

  private launchAmphoraAgent(amphora: AmphoraRecord): void {
    const s = this.current;
    const args = ['--amphora-id', amphora.amphoraId, '--server', s.server!.url, '--netns', amphora.netns, '--state-dir', amphora.stateDir];
    const started = startCloudnet('amphora-agent', args, { log: join(s.dir, 'logs', `amphora-${amphora.amphoraId}.log`), env: { ...process.env, ...this.openrcEnv('admin') } });
    amphora.agent = started.record;
    this.amphoraAgents.set(amphora.amphoraId, started);
    const startedAt = Date.now();
    void started.exited.then(({ code, signal }) => {
      if (this.amphoraAgents.get(amphora.amphoraId) !== started) return;
      this.amphoraAgents.delete(amphora.amphoraId);
      amphora.agent = null;
      if (this.stopping) return;
      writeLabState(this.current);
      // As a VM's init restarts its agent: HAProxy and keepalived kept serving, and the new agent adopts them. A
      // VM whose namespace is gone is dead instead: the health manager notices and replaces it.
      const { failures, delayMs: delay } = nextRestart(AGENT_RESTART, this.amphoraAgentFailures.get(amphora.amphoraId) ?? 0, Date.now() - startedAt);
      this.amphoraAgentFailures.set(amphora.amphoraId, failures);
      this.options.logger.warn({ amphora: amphora.amphoraId, code, signal, log: started.record.log, restartInMs: delay }, 'amphora agent exited');
      setTimeout(() => {
        if (this.stopping) return;
        this.relaunchAmphoraAgent(amphora).catch((err: unknown) => this.options.logger.error({ err, amphora: amphora.amphoraId }, 'amphora agent restart failed'));
      }, delay);
    });
  }

  private relaunchAmphoraAgent(amphora: AmphoraRecord): Promise<void> {
    return this.serialized(async () => {
      // Deleted meanwhile, already running again, or its namespace gone (crashed, or deleted under the lab).
      if (this.current.amphorae[amphora.amphoraId] !== amphora || amphora.agent || !(await listNetns()).includes(amphora.netns)) return;
      this.launchAmphoraAgent(amphora);
      writeLabState(this.current);
      this.options.logger.info({ amphora: amphora.amphoraId, pid: amphora.agent!.pid }, 'amphora agent restarted');
    });
  }

  /**
   * The agent (which leaves HAProxy and keepalived running, as for an upgrade), then what runs in the namespace
   * (keepalived, then HAProxy), the namespace; ports are the controller's.
   */
  private async removeAmphora(amphora: AmphoraRecord): Promise<void> {
    this.amphoraAgents.delete(amphora.amphoraId);
    this.amphoraAgentFailures.delete(amphora.amphoraId);
    if (amphora.agent) await stopProcess(amphora.agent);
    // keepalived first: stopping, it sends a priority-0 advert and the peer takes the VIP at once, while HAProxy
    // still serves here.
    await stopNamespaceProcesses(amphora.netns, { program: 'keepalived' });
    await stopNamespaceProcesses(amphora.netns);
    await deleteNetns(amphora.netns);
    rmSync(amphora.stateDir, { recursive: true, force: true });
    delete this.current.amphorae[amphora.amphoraId];
    this.current.namespaces = this.current.namespaces.filter((ns) => ns !== amphora.netns);
    writeLabState(this.current);
  }

  // Shutdown

  /** Stops everything and removes every namespace and file the lab made (the logs stay). */
  async down(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Let a change in progress finish, so that what it made is recorded before the teardown reads the record.
    await this.queue.catch(() => undefined);
    this.current.phase = 'stopping';
    writeLabState(this.current);
    this.control?.close();
    await teardownLab(this.current, this.options.logger);
    await this.serverProcess?.exited;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.stopping) return Promise.reject(new LabError(503, 'the lab is stopping'));
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A name the lab could not resolve is the client's mistake (404); any other API failure is the lab's. */
function asNotFound(err: Error): never {
  throw err instanceof CloudApiError && err.status !== 404 ? err : new LabError(404, err.message);
}

/** The API refusing a request (a taken address, pairs without port security) is the caller's fault, told as such. */
function asRefused(err: Error): never {
  throw err instanceof CloudApiError && err.status >= 400 && err.status < 500 ? new LabError(err.status, err.message) : err;
}

/** A lab left in DIR by a process that is gone is removed first; a running one is not touched. */
async function clearLeftovers(dir: string, logger: Logger): Promise<void> {
  const previous = readLabState(dir);
  if (!previous) return;
  if (isRunning(previous.supervisor)) {
    throw new Error(`a lab is running in ${dir} (pid ${previous.supervisor.pid}); 'cloudnet lab down --dir ${dir}' stops it`);
  }
  logger.warn({ dir, runId: previous.runId }, 'removing what a lab that is no longer running left behind');
  await teardownLab(previous, logger);
  rmSync(labStatePath(dir), { force: true });
}

async function startServer(state: LabState, url: string, adminPassword: string, options: LabOptions): Promise<StartedProcess> {
  const db = `sqlite:${join(state.dir, 'cloudnet.db')}`;
  const server = startCloudnet('server', ['--listen', new URL(url).host, '--db', db, '--compute', `lab:${state.controlSocket}`, ...(options.serverArgs ?? [])], {
    log: join(state.dir, 'logs', 'server.log'),
    // Through the environment, not argv, so that the password is not in every `ps` listing.
    env: { ...process.env, CLOUDNET_ADMIN_PASSWORD: adminPassword },
  });
  state.server = { ...server.record, url, db };
  writeLabState(state);
  let exited = false;
  void server.exited.then(() => (exited = true));
  const timeout = options.startTimeoutMs ?? 30_000;
  const up = await waitUntil(async () => {
    if (exited) throw new Error(`cloudnet server exited while starting; see ${server.record.log}`);
    return fetch(`${url}/identity/v3`).then((r) => r.ok, () => false);
  }, timeout, 100);
  if (!up) throw new Error(`cloudnet server did not answer on ${url} within ${timeout / 1000} s; see ${server.record.log}`);
  options.logger.info({ url, pid: server.record.pid }, 'lab server up');
  return server;
}

/** A port the kernel says is free on 127.0.0.1 now (the server binds it a moment later; a clash fails loudly). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The variables of an openrc file as written by `renderOpenrc` (`export NAME='value'` lines). */
export function parseOpenrc(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) variables[match[1]] = match[2].replace(/^'|'$/g, '').replaceAll(`'\\''`, "'");
  }
  return variables;
}
