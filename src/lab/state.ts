/**
 * `DIR/lab.json`: what a lab run made and where it is. It is written before each thing is made (intent
 * first), so that `cloudnet lab down` can remove everything even after the lab's own process crashed.
 * Only the lab's supervising process writes it (other shells go through its control socket); every
 * write replaces the file whole by rename, so readers never see half a file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_STATE_VERSION = 1;

/**
 * Under DIR: one state directory per amphora agent (DIR/amp/<amphora id>). Short, because HAProxy's sockets live
 * there and HAProxy binds no path over 97 bytes: this leaves DIR 36 characters.
 */
export const AMPHORA_STATE_DIR = 'amp';

/** A process the lab started; `startTime` (from /proc) tells it apart from a later process given the same pid. */
export interface ProcessRecord {
  pid: number;
  startTime: string;
  log: string;
}

export interface HostRecord {
  name: string;
  netns: string;
  tunnelIp: string;
  /** Interface carrying the tunnel IP, inside the host namespace. */
  underlayInterface: string;
  /** Physical network -> interface inside the host namespace (what the agent's --provider-interface names). */
  providerInterfaces: Record<string, string>;
  agent: ProcessRecord | null;
}

export interface NetworkRecord {
  id: string;
  projectId: string;
  subnets: { id: string; name: string; cidr: string; gatewayIp: string | null }[];
}

export interface VmRecord {
  name: string;
  netns: string;
  host: string;
  portId: string;
  networkId: string;
  /** Interface on the host's side, in the host namespace. */
  tap: string;
  mac: string;
  /** ADDRESS/PREFIXLEN as configured on eth0. */
  addresses: string[];
}

/** An amphora VM made for the balancer controller (`--compute lab:SOCKET`), with its `cloudnet amphora-agent`. */
export interface AmphoraRecord {
  /** The amphora's id, which is also its compute id. */
  amphoraId: string;
  netns: string;
  host: string;
  /** In plug order: eth0 first (the VRRP port). */
  interfaces: { name: string; portId: string; tap: string; mac: string; addresses: string[] }[];
  stateDir: string;
  agent: ProcessRecord | null;
}

export interface LabState {
  version: number;
  runId: string;
  /** Every namespace of this run starts with it. */
  namespacePrefix: string;
  dir: string;
  createdAt: string;
  /** `ready` once `lab up` finished bootstrapping; `stopping` while it is being taken down. */
  phase: 'starting' | 'ready' | 'stopping';
  /** The `lab up` process, which owns everything else. */
  supervisor: Pick<ProcessRecord, 'pid' | 'startTime'>;
  /** Unix socket of the supervisor's control API (VMs are made through it). */
  controlSocket: string;
  server: (ProcessRecord & { url: string; db: string }) | null;
  openrc: { admin: string; demo: string | null };
  /** Every namespace made, in order of creation (recorded just before it is made). */
  namespaces: string[];
  fabric: { netns: string; underlayBridge: string; providerBridges: Record<string, string> } | null;
  public: { netns: string; interface: string; address: string } | null;
  hosts: HostRecord[];
  /** By name: `public` and `demo-net` from the bootstrap. */
  networks: Record<string, NetworkRecord>;
  vms: Record<string, VmRecord>;
  /** By amphora id. */
  amphorae: Record<string, AmphoraRecord>;
  /** Files the lab wrote in DIR, removed by `lab down` (the logs directory is kept for post-mortems). */
  files: string[];
}

export function labStatePath(dir: string): string {
  return join(dir, 'lab.json');
}

export function readLabState(dir: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(labStatePath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== LAB_STATE_VERSION) throw new Error(`${labStatePath(dir)} is of version ${state.version}; this cloudnet reads version ${LAB_STATE_VERSION}`);
  // Labs recorded before amphorae existed have none.
  state.amphorae ??= {};
  return state;
}

export function writeLabState(state: LabState): void {
  const path = labStatePath(state.dir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}

/** The namespace of a VM or of a lab node (fabric, public, hostN); VM names never take node names. */
export function namespaceOf(state: LabState, name: string): string {
  const netns =
    state.vms[name]?.netns ??
    state.amphorae[name]?.netns ??
    (name === 'fabric' ? state.fabric?.netns : name === 'public' ? state.public?.netns : state.hosts.find((h) => h.name === name)?.netns);
  if (!netns) throw new Error(`no VM or lab node named '${name}' (VMs: ${Object.keys(state.vms).join(', ') || 'none'})`);
  return netns;
}
