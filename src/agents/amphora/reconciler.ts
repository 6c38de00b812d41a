import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execTool, ExecError } from '../../lib/exec.js';
import type { Logger } from '../../lib/logger.js';
import { adoptDaemon } from './adoption.js';
import { placeCertificates } from './certificates.js';
import { ipAddress } from './config-tokens.js';
import { renderHaproxyConfig, renderPingCheckScript, type HaproxyPeers, type HaproxyRenderOptions } from './haproxy-config.js';
import { haproxySocketCheck, renderKeepalivedConfig, renderVrrpStateScript } from './keepalived-config.js';
import type { AmphoraAgentMetrics } from './metrics.js';
import { memberStateCommands, planRuntimeUpdate } from './runtime-plan.js';
import { haproxyCommand } from './runtime-socket.js';
import { healthFromStat, parseShowStat } from './show-stat.js';
import { parseShowProc, type HaproxyProcesses } from './show-proc.js';
import { SupervisedProcess } from './supervised-process.js';
import type { AmphoraHealthReport, AmphoraTarget, AmphoraVrrpTarget } from './target.js';
import type { LoadBalancer } from './types.js';
import { UdpListeners } from './udp-listeners.js';

export interface AmphoraReconcilerOptions {
  /** The amphora's network namespace: HAProxy and keepalived run in it, the agent stays in the root one. */
  netns: string;
  /** Configs, sockets, pid files, certificates; the agent's own (one per amphora). */
  stateDir: string;
  logger: Logger;
  metrics?: AmphoraAgentMetrics;
  /** Called once when the namespace disappears, after HAProxy and keepalived have been stopped. */
  onNamespaceGone?(): void;
  /** HAProxy's process-wide connection ceiling (default: 50,000, or less if the open-file limit is lower). */
  maxconn?: number;
}

/** Where the agent keeps each file under its state directory. */
export type StatePaths = ReturnType<typeof statePaths>;

/**
 * The longest socket path HAProxy 2.6 binds: it binds `<path>.<pid>.tmp` and renames it, within sun_path's 108
 * bytes, and says "socket path '…' too long (max 97)" otherwise — at every start, so it never comes up.
 */
export const HAPROXY_SOCKET_PATH_MAX = 97;

export function statePaths(stateDir: string) {
  const at = (name: string) => join(stateDir, name);
  const masterSocket = at('haproxy-master.sock');
  if (Buffer.byteLength(masterSocket) > HAPROXY_SOCKET_PATH_MAX) {
    throw new Error(`state directory ${stateDir} is too long: HAProxy binds no socket path longer than ${HAPROXY_SOCKET_PATH_MAX} bytes (${masterSocket})`);
  }
  return {
    haproxyConfig: at('haproxy.cfg'),
    haproxyCandidate: at('haproxy.cfg.new'),
    haproxyPid: at('haproxy.pid'),
    haproxyLog: at('haproxy.log'),
    masterSocket,
    statsSocket: at('haproxy.sock'),
    serverState: at('haproxy.state'),
    certs: at('certs'),
    keepalivedConfig: at('keepalived.conf'),
    keepalivedPid: at('keepalived.pid'),
    keepalivedLog: at('keepalived.log'),
    vrrpPid: at('keepalived-vrrp.pid'),
    checkersPid: at('keepalived-checkers.pid'),
    notifyScript: at('vrrp-notify.sh'),
    pingCheckScript: at('ping-check.sh'),
    vrrpState: at('vrrp-state'),
  };
}

/**
 * What applying a target took, by HAProxy: `runtime` (runtime API, no new worker), `reload`, `start`; `vip` when
 * only keepalived (SIGHUP) or the SINGLE VIP changed; `udp` when only the UDP listeners' nftables table did;
 * `refused` leaves what ran before serving and sets the report's applyError.
 */
export type ApplyAction = 'unchanged' | 'runtime' | 'reload' | 'start' | 'vip' | 'udp' | 'stopped' | 'refused';

const READY_TIMEOUT_MS = 10_000;
/** Runtime API commands per connection, well within HAProxy's 16 kB command line. */
const RUNTIME_BATCH = 50;

/**
 * Brings the amphora's HAProxy and keepalived to a target and says how they are: all the agent's real work,
 * without the server (the client loop in agent.ts feeds it targets and sends its reports).
 *
 * HAProxy runs in master-worker mode under supervision. Every new config is checked with `haproxy -c` first; a
 * refused one leaves the old one serving. Member weight and admin changes go through the runtime API; other
 * changes are a hitless reload through the master CLI, after saving the server state so checks survive it.
 * keepalived (ACTIVE_STANDBY) runs supervised as well and is reloaded with SIGHUP; without VRRP the VIP is put
 * on the VIP interface directly. Applies run one at a time, in call order.
 */
export class AmphoraReconciler {
  readonly paths: StatePaths;
  private readonly haproxy: SupervisedProcess;
  private readonly keepalived: SupervisedProcess;
  /** UDP listeners are nftables NAT, not HAProxy (udp-listeners.ts). */
  private readonly udp: UdpListeners;
  private readonly renderOptions: HaproxyRenderOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private lastAppliedTarget: string | undefined;
  private appliedRevision: number | null = null;
  private applyError: string | null = null;
  /** The tree and config HAProxy runs (certificate names already replaced by paths). */
  private running: { lb: LoadBalancer; config: string; peers: HaproxyPeers | null } | undefined;
  private keepalivedConfig: string | undefined;
  /** The config an adopted HAProxy runs, until the first target says whether it is still the one wanted. */
  private adoptedHaproxyConfig: string | undefined;
  private singleVip: { address: string; device: string } | undefined;
  private namespaceWatch: NodeJS.Timeout | undefined;
  private namespaceGone = false;

  constructor(private readonly o: AmphoraReconcilerOptions) {
    this.paths = statePaths(o.stateDir);
    this.renderOptions = { statsSocketPath: this.paths.statsSocket, serverStateFilePath: this.paths.serverState, maxconn: o.maxconn ?? maxconnWithin(openFileLimit()), pingCheckCommand: this.paths.pingCheckScript, peers: null };
    const inNamespace = (argv: string[]) => ['ip', 'netns', 'exec', o.netns, ...argv];
    const supervised = (name: string, argv: string[], logFile: string) =>
      new SupervisedProcess({
        name,
        argv: inNamespace(argv),
        logFile,
        logger: o.logger,
        mayRestart: () => this.namespaceExists(),
        onRestart: () => o.metrics?.processRestarts.inc({ process: name }),
      });
    const p = this.paths;
    this.udp = new UdpListeners({ netns: o.netns, logger: o.logger });
    this.haproxy = supervised('haproxy', ['haproxy', '-W', '-S', p.masterSocket, '-f', p.haproxyConfig, '-p', p.haproxyPid], p.haproxyLog);
    this.keepalived = supervised('keepalived', ['keepalived', '--dont-fork', '--log-console', '--vrrp', '-f', p.keepalivedConfig, '-p', p.keepalivedPid, '-r', p.vrrpPid, '-c', p.checkersPid], p.keepalivedLog);
  }

  /**
   * Prepares the state directory and the namespace, and adopts the daemons a previous agent of this amphora
   * left running (adoption.ts), so that an agent restart touches no traffic and starts no second copies.
   */
  async start(): Promise<void> {
    if (!this.namespaceExists()) throw new Error(`network namespace ${this.o.netns} does not exist`);
    for (const socket of [this.paths.masterSocket, this.paths.statsSocket]) {
      // sun_path holds 108 bytes with its terminating NUL; HAProxy could not bind a longer path.
      if (Buffer.byteLength(socket) > 107) throw new Error(`state directory too deep: ${socket} is longer than a unix socket path may be (107 bytes)`);
    }
    await mkdir(this.paths.certs, { recursive: true, mode: 0o700 });
    await writeFile(this.paths.pingCheckScript, renderPingCheckScript('/usr/bin/ping'), { mode: 0o700 });
    const masterAnswers = () => haproxyCommand(this.paths.masterSocket, 'show proc', 1000).then(() => true, () => false);
    const haproxy = { supervised: this.haproxy, pidFile: this.paths.haproxyPid, identity: { program: 'haproxy', configPath: this.paths.haproxyConfig }, answers: masterAnswers };
    this.adoptedHaproxyConfig = await adoptDaemon(haproxy, this.o.netns, this.o.logger);
    const keepalived = { supervised: this.keepalived, pidFile: this.paths.keepalivedPid, identity: { program: 'keepalived', configPath: this.paths.keepalivedConfig } };
    this.keepalivedConfig = await adoptDaemon(keepalived, this.o.netns, this.o.logger);
    // HAProxy binds the VIP on the standby too, where keepalived has not put it (yet).
    await execTool('ip', ['netns', 'exec', this.o.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_nonlocal_bind=1', 'net.ipv6.ip_nonlocal_bind=1']);
    this.namespaceWatch = setInterval(() => void this.watchNamespace(), 500);
  }

  apply(target: AmphoraTarget): Promise<ApplyAction> {
    const done = this.queue.then(() => this.applyNow(target));
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** Ends supervision and leaves HAProxy and keepalived serving, for the next agent to adopt (an agent stop or upgrade). */
  async release(): Promise<void> {
    clearInterval(this.namespaceWatch);
    await this.queue;
    // The UDP table stays and keeps forwarding; only its member checks, which the next agent restarts, go.
    this.udp.stop();
    this.keepalived.release();
    this.haproxy.release();
  }

  /** Stops keepalived first (the peer takes the VIP at once), then HAProxy. */
  async stop(): Promise<void> {
    clearInterval(this.namespaceWatch);
    await this.queue;
    this.udp.stop();
    await this.keepalived.stop();
    await this.haproxy.stop();
  }

  async health(): Promise<AmphoraHealthReport> {
    let stat: string | undefined;
    if (this.haproxy.running) stat = await haproxyCommand(this.paths.statsSocket, 'show stat', 2000).catch(() => undefined);
    const rows = stat ? parseShowStat(stat) : [];
    const report: AmphoraHealthReport = {
      appliedConfigRevision: this.appliedRevision,
      applyError: this.applyError,
      haproxy: stat ? 'RUNNING' : 'STOPPED',
      vrrpState: this.keepalivedConfig === undefined ? null : await this.vrrpState(),
      ...(this.running ? healthFromStat(rows, this.running.lb) : { listeners: {}, pools: {} }),
    };
    await this.udp.report(report);
    return report;
  }

  /** The master CLI's view of HAProxy's processes (how the tests see a reload, or its absence). */
  async haproxyProcesses(): Promise<HaproxyProcesses> {
    return parseShowProc(await haproxyCommand(this.paths.masterSocket, 'show proc'));
  }

  private async applyNow(target: AmphoraTarget): Promise<ApplyAction> {
    const serialized = JSON.stringify(target);
    if (serialized === this.lastAppliedTarget && this.applyError === null) return this.done('unchanged');
    try {
      if (this.namespaceGone) throw new Error(`network namespace ${this.o.netns} is gone`);
      const action = target.loadBalancer ? await this.serve(target, target.loadBalancer) : await this.stopServing();
      this.lastAppliedTarget = serialized;
      this.appliedRevision = target.configRevision;
      this.applyError = null;
      this.o.metrics?.appliedRevision.set(target.configRevision);
      this.o.logger.info({ revision: target.configRevision, action }, 'target applied');
      return this.done(action);
    } catch (err) {
      this.applyError = (err as Error).message;
      this.o.logger.error({ revision: target.configRevision, err: this.applyError }, 'target refused; what ran before keeps serving');
      return this.done('refused');
    }
  }

  private done(action: ApplyAction): ApplyAction {
    this.o.metrics?.applies.inc({ action });
    return action;
  }

  private async serve(target: AmphoraTarget, tree: LoadBalancer): Promise<ApplyAction> {
    // Everything is rendered (and so validated) before anything is touched.
    const placed = placeCertificates(tree, target.certificates, this.paths.certs);
    const config = renderHaproxyConfig(placed.loadBalancer, { ...this.renderOptions, peers: target.haproxyPeers });
    const applyUdp = this.udp.prepare(tree);
    const keepalivedConfig = target.vrrp && this.keepalivedHasPeer(target.vrrp)
      ? renderKeepalivedConfig({
          ...target.vrrp,
          routerId: target.amphoraId,
          instanceName: target.loadBalancerId,
          healthCheck: { argv: haproxySocketCheck(this.paths.statsSocket), intervalSeconds: 1, timeoutSeconds: 1, fall: 2, rise: 2 },
          notifyScript: this.paths.notifyScript,
        })
      : null;
    for (const [path, pem] of placed.files) if (!existsSync(path)) await writeFile(path, pem, { mode: 0o600 });
    const action = await this.convergeHaproxy(placed.loadBalancer, config, target.haproxyPeers);
    const udpChanged = await applyUdp();
    let vipChanged = false;
    if (keepalivedConfig) vipChanged = await this.convergeKeepalived(keepalivedConfig);
    else if (!target.vrrp) vipChanged = await this.convergeSingleVip(tree.vipAddress, target.vipInterface);
    await this.removeCertificatesExcept(new Set(placed.files.keys()));
    if (action !== 'unchanged') return action;
    return vipChanged ? 'vip' : udpChanged ? 'udp' : action;
  }

  private async convergeHaproxy(lb: LoadBalancer, config: string, peers: HaproxyPeers | null): Promise<ApplyAction> {
    if (this.running?.config === config && this.haproxy.supervised) {
      this.running = { lb, config, peers };
      return 'unchanged';
    }
    const adopted = this.adoptedHaproxyConfig;
    this.adoptedHaproxyConfig = undefined;
    // An adopted HAProxy already runs this config; the previous agent may have died before its runtime commands.
    if (adopted === config && this.haproxy.running && (await this.runtimeCommands(memberStateCommands(lb)))) {
      this.running = { lb, config, peers };
      return 'unchanged';
    }
    await writeFile(this.paths.haproxyCandidate, config, { mode: 0o600 });
    try {
      await execTool('haproxy', ['-c', '-f', this.paths.haproxyCandidate]);
    } catch (err) {
      throw new Error(`haproxy -c refused the config: ${err instanceof ExecError ? alerts(err.stderr) : (err as Error).message}`);
    }
    const previous = this.running;
    // From here on, a restart of HAProxy (by its supervisor) starts from the new config.
    await rename(this.paths.haproxyCandidate, this.paths.haproxyConfig);
    this.running = { lb, config, peers };
    if (!this.haproxy.running) {
      // The server state file must exist (the config names it); `1` is its empty version line.
      if (!existsSync(this.paths.serverState)) await writeFile(this.paths.serverState, '1\n');
      this.haproxy.start();
      await this.untilRuntimeAnswers();
      return 'start';
    }
    // The runtime API cannot change the peers section (a peer replaced): only a reload takes new peers.
    const samePeers = previous && JSON.stringify(previous.peers) === JSON.stringify(peers);
    const plan = samePeers ? planRuntimeUpdate(previous.lb, lb, { ...this.renderOptions, peers }, config) : ({ reload: true } as const);
    if (!plan.reload && (await this.runtimeCommands(plan.commands))) return 'runtime';
    await this.reloadHaproxy();
    if (!(await this.runtimeCommands(memberStateCommands(lb)))) throw new Error('HAProxy reloaded, but refused to set the members to their weights and admin states');
    return 'reload';
  }

  /** Sends the commands (a few dozen per connection); false, with a warning, if HAProxy answered any with an error. */
  private async runtimeCommands(commands: string[]): Promise<boolean> {
    for (let i = 0; i < commands.length; i += RUNTIME_BATCH) {
      const batch = commands.slice(i, i + RUNTIME_BATCH);
      // Commands that succeed answer nothing, but for `add server`'s one line; the CLI runs `;`-separated commands in turn.
      const answer = (await haproxyCommand(this.paths.statsSocket, batch.join(';')))
        .split('\n')
        .filter((line) => line.trim() !== '' && line.trim() !== 'New server registered.')
        .join('\n');
      if (answer !== '') {
        this.o.logger.warn({ commands: batch, answer }, 'runtime API refused a command');
        return false;
      }
    }
    return true;
  }

  /**
   * A hitless reload: the server state is saved for the new worker, the master re-executes with the new
   * config and hands the listening sockets over; the old worker finishes its connections. The master CLI
   * answers nothing to `reload` in 2.6, so success is read from `show proc`: one more reload, no new failure.
   */
  private async reloadHaproxy(): Promise<void> {
    const before = await this.haproxyProcesses();
    await writeFile(`${this.paths.serverState}.new`, await haproxyCommand(this.paths.statsSocket, 'show servers state'));
    await rename(`${this.paths.serverState}.new`, this.paths.serverState);
    await haproxyCommand(this.paths.masterSocket, 'reload').catch(() => undefined);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const now = await this.haproxyProcesses().catch(() => undefined);
      if (now && now.reloads > before.reloads) {
        if (now.failedReloads > before.failedReloads) throw new Error('HAProxy failed to reload; the previous worker keeps serving');
        if (now.workers.some((w) => w.reloads === 0 && !before.workers.some((b) => b.pid === w.pid))) break;
      }
      if (Date.now() > deadline) throw new Error(`HAProxy did not finish reloading within ${READY_TIMEOUT_MS} ms`);
      await sleep(20);
    }
    await this.untilRuntimeAnswers();
  }

  private async untilRuntimeAnswers(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await haproxyCommand(this.paths.statsSocket, 'show info', 1000).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error(`HAProxy's runtime API did not answer within ${READY_TIMEOUT_MS} ms`);
      await sleep(20);
    }
  }

  /**
   * While its peer is being replaced an amphora's target names no peer, which keepalived cannot be configured
   * with: a running keepalived is left as it is (it keeps the VIP, advertising to the old peer's address) until
   * the new peer is named; one that never started has nothing to keep, so the target is refused.
   */
  private keepalivedHasPeer(vrrp: AmphoraVrrpTarget): boolean {
    if (vrrp.unicastPeers.length > 0) return true;
    if (!this.keepalived.supervised) throw new Error('the VRRP target names no peer, and keepalived has no earlier config to keep');
    this.o.logger.info('the VRRP target names no peer (being replaced): keepalived keeps its config');
    return false;
  }

  /** Says whether anything changed. */
  private async convergeKeepalived(config: string): Promise<boolean> {
    if (this.singleVip) await this.removeSingleVip();
    if (this.keepalivedConfig === config && this.keepalived.supervised) return false;
    const candidate = `${this.paths.keepalivedConfig}.new`;
    await writeFile(this.paths.notifyScript, renderVrrpStateScript(this.paths.vrrpState), { mode: 0o700 });
    await writeFile(candidate, config, { mode: 0o600 });
    try {
      // keepalived -t looks the interface up, so it runs where keepalived will.
      await execTool('ip', ['netns', 'exec', this.o.netns, 'keepalived', '-t', '-l', '-f', candidate]);
    } catch (err) {
      throw new Error(`keepalived -t refused the config: ${err instanceof ExecError ? err.stderr.trim() : (err as Error).message}`);
    }
    await rename(candidate, this.paths.keepalivedConfig);
    this.keepalivedConfig = config;
    if (this.keepalived.running) this.keepalived.signal('SIGHUP');
    else {
      await rm(this.paths.vrrpState, { force: true });
      this.keepalived.start();
    }
    return true;
  }

  /** Says whether anything changed. */
  private async convergeSingleVip(vipAddress: string, device: string): Promise<boolean> {
    if (this.keepalived.supervised) {
      await this.keepalived.stop();
      this.keepalivedConfig = undefined;
    }
    const vip = ipAddress('VIP', vipAddress);
    const address = `${vip.address}/${vip.family === 4 ? 32 : 128}`;
    if (this.singleVip?.address === address && this.singleVip.device === device) return false;
    if (this.singleVip) await this.removeSingleVip();
    await execTool('ip', ['-n', this.o.netns, 'addr', 'replace', address, 'dev', device]);
    this.singleVip = { address, device };
    return true;
  }

  private async removeSingleVip(): Promise<void> {
    const { address, device } = this.singleVip!;
    await execTool('ip', ['-n', this.o.netns, 'addr', 'del', address, 'dev', device]).catch(() => undefined);
    this.singleVip = undefined;
  }

  /** The balancer is being deleted: stop serving, keep nothing running. */
  private async stopServing(): Promise<ApplyAction> {
    await this.keepalived.stop();
    await this.udp.prepare(null)();
    this.keepalivedConfig = undefined;
    if (this.singleVip) await this.removeSingleVip();
    await this.haproxy.stop();
    this.running = undefined;
    await this.removeCertificatesExcept(new Set());
    return 'stopped';
  }

  private async removeCertificatesExcept(keep: Set<string>): Promise<void> {
    for (const name of await readdir(this.paths.certs)) {
      const path = join(this.paths.certs, name);
      if (!keep.has(path)) await rm(path, { force: true });
    }
  }

  private async vrrpState(): Promise<AmphoraHealthReport['vrrpState']> {
    if (!this.keepalived.running) return 'STOPPED';
    const state = (await readFile(this.paths.vrrpState, 'utf8').catch(() => 'BACKUP')).trim();
    // keepalived starts every instance in BACKUP (before its first notify), and says STOP when it stops.
    return state === 'MASTER' || state === 'FAULT' ? state : state === 'STOP' ? 'STOPPED' : 'BACKUP';
  }

  private namespaceExists(): boolean {
    return existsSync(join('/run/netns', this.o.netns));
  }

  /**
   * A deleted namespace lives on while processes are in it, so HAProxy and keepalived would keep it (and the
   * VIP) alive: stop them, so that the namespace really goes and the peer takes over, and say so once.
   */
  private async watchNamespace(): Promise<void> {
    if (this.namespaceGone || this.namespaceExists()) return;
    this.namespaceGone = true;
    clearInterval(this.namespaceWatch);
    this.o.logger.error({ netns: this.o.netns }, 'the amphora network namespace is gone; stopping HAProxy and keepalived');
    this.udp.stop();
    await this.keepalived.stop();
    await this.haproxy.stop();
    this.o.onNamespaceGone?.();
  }
}

/** HAProxy's reasons (its ALERT lines) without its notices. */
function alerts(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.includes('[ALERT]'));
  return (lines.length ? lines : [stderr]).map((l) => l.trim()).join(' ');
}

/**
 * HAProxy needs two descriptors per connection and refuses to start if it cannot raise its limit to that, so the
 * default ceiling (Octavia's 50,000) shrinks to what the inherited hard limit allows.
 */
export function maxconnWithin(hardOpenFileLimit: number): number {
  return Math.max(100, Math.min(50_000, Math.floor((hardOpenFileLimit - 1000) / 2)));
}

export function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const hard = line?.split(/\s{2,}/)[2];
  return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}
