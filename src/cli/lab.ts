import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, mkdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/logger.js';
import { LabControlClient } from '../lab/control.js';
import { Lab } from '../lab/lab.js';
import { execInNamespace } from '../lab/netns.js';
import { cloudnetCommand, isRunning, waitUntil } from '../lab/processes.js';
import { namespaceOf, readLabState, type LabState } from '../lab/state.js';
import { teardownLab } from '../lab/teardown.js';
import { renderLabUsage } from '../lab/usage.js';
import { parseAllowedAddressOption, parseFixedIpOption } from '../lab/vm-port.js';

const USAGE = `usage: cloudnet lab <subcommand> [options]

The whole cloud on one machine: the server, a fabric, hosts and VMs as network namespaces.
Every subcommand takes --dir DIR, the lab's directory (default $CLOUDNET_LAB_DIR, else ./.lab).

subcommands:
  up [--hosts N] [--no-agents] [--detach]
                       bring a lab up (3 hosts by default) and keep it running until Ctrl-C or
                       'lab down'; --detach returns once it is ready, leaving it in the background;
                       --no-agents makes the topology and the cloud without host agents (nothing is wired)
  down                 stop the lab and remove everything it made (also after a crash)
  status [--json]      what the lab holds (hosts, networks, VMs, amphorae)
  vm create NAME --network NET [--host H] [--security-group SG]...
            [--fixed-ip subnet=NAME|ID,ip-address=IP]... [--allowed-address IP[/LEN][,mac=MAC]]...
            [--no-port-security]
                       a port on NET bound to host H (default: the least loaded) and a VM namespace on it,
                       its eth0 holding the port's fixed IPs (allowed addresses are the VM's to claim);
                       waits until the port is ACTIVE
  vm delete NAME       the VM's port and namespace
  exec NAME -- CMD...  run CMD inside VM NAME (or in a lab node: fabric, public, host1, …)
  agent stop|start HOST
                       stop or start a host's agent`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'status':
      return status(rest);
    case 'vm':
      return vm(rest);
    case 'exec':
      return exec(rest);
    case 'agent':
      return agent(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return sub ? 0 : 2;
    default:
      process.stderr.write(`cloudnet lab: unknown subcommand '${sub}'\n\n${USAGE}\n`);
      return 2;
  }
}

const dirOption = { dir: { type: 'string' as const } };

/** How the user ran this cloudnet, for the commands the lab prints: `cloudnet` if installed, else its path. */
function invocation(): string {
  const main = process.argv[1] ?? 'cloudnet';
  if (basename(main) === 'cloudnet') return 'cloudnet';
  return `node ${main.endsWith('.ts') ? '--import tsx ' : ''}${relative(process.cwd(), main) || main}`;
}

function labDir(value: string | undefined): string {
  return resolve(value ?? process.env.CLOUDNET_LAB_DIR ?? '.lab');
}

function mustReadState(dir: string): LabState {
  const state = readLabState(dir);
  if (!state) throw new Error(`there is no lab in ${dir} (no lab.json); start one with 'cloudnet lab up --dir ${dir}'`);
  return state;
}

function client(dir: string): LabControlClient {
  return new LabControlClient(mustReadState(dir).controlSocket);
}

async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...dirOption, hosts: { type: 'string', default: '3' }, 'no-agents': { type: 'boolean' }, detach: { type: 'boolean' } },
    strict: true,
  });
  const dir = labDir(values.dir);
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts)) throw new Error(`--hosts must be a whole number, not '${values.hosts}'`);
  if (values.detach) return upDetached(dir, argv.filter((a) => a !== '--detach'));

  const logger = createLogger('cloudnet-lab');
  // A signal while the lab is coming up is acted on once it is up (or has failed and cleaned up).
  let stopRequested: (() => void) | undefined;
  const stopSignal = new Promise<void>((resolveStop) => (stopRequested = resolveStop));
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping the lab');
    stopRequested?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const lab = await Lab.start({ dir, hosts, agents: !values['no-agents'], logger });
    process.stdout.write(renderLabUsage(lab.state(), invocation()));
    await stopSignal;
    await lab.down();
    process.stdout.write(`cloudnet lab: down; logs kept in ${join(dir, 'logs')}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `lab up` again, in the background with its output in DIR/logs/lab.log; returns once lab.json says ready. */
async function upDetached(dir: string, argv: string[]): Promise<number> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const log = join(dir, 'logs', 'lab.log');
  const fd = openSync(log, 'a', 0o600);
  const { file, args } = cloudnetCommand();
  const child = spawn(file, [...args, 'lab', 'up', ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const ready = await waitUntil(() => {
    if (exited !== undefined) return true;
    const state = readStateQuietly(dir);
    return state?.phase === 'ready' && state.supervisor.pid === child.pid;
  }, 180_000, 200);
  if (exited !== undefined || !ready) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`the lab did not come up${exited !== undefined ? ` (exit code ${exited})` : ' within 180 s'}; the end of ${log}:\n${tail}`);
  }
  child.unref();
  process.stdout.write(renderLabUsage(mustReadState(dir), invocation()));
  return 0;
}

/** lab.json may be mid-creation while a lab starts; a read that fails is just "not yet". */
function readStateQuietly(dir: string): LabState | undefined {
  try {
    return readLabState(dir);
  } catch {
    return undefined;
  }
}

async function down(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: dirOption, strict: true });
  const dir = labDir(values.dir);
  const state = readLabState(dir);
  if (!state) {
    process.stdout.write(`cloudnet lab: no lab in ${dir}; nothing to do\n`);
    return 0;
  }
  if (isRunning(state.supervisor)) {
    process.kill(state.supervisor.pid, 'SIGTERM');
    const stopped = await waitUntil(() => !isRunning(state.supervisor), 60_000, 100);
    if (!stopped) throw new Error(`the lab process ${state.supervisor.pid} did not stop within 60 s`);
  }
  // Whatever a crashed (or just stopped) lab left behind: the same teardown, from the record.
  const left = readLabState(dir);
  if (left) await teardownLab(left, createLogger('cloudnet-lab'));
  process.stdout.write(`cloudnet lab: ${state.runId} is down; logs kept in ${join(dir, 'logs')}\n`);
  return 0;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...dirOption, json: { type: 'boolean' } }, strict: true });
  const dir = labDir(values.dir);
  const state = mustReadState(dir);
  if (!isRunning(state.supervisor)) {
    process.stderr.write(`cloudnet lab: the lab process ${state.supervisor.pid} is gone; 'cloudnet lab down --dir ${dir}' removes what it left\n`);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(state, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(renderLabUsage(state, invocation()));
  const vms = Object.values(state.vms);
  if (vms.length) {
    process.stdout.write('VMs:\n' + vms.map((v) => `  ${v.name.padEnd(12)} ${v.host.padEnd(8)} ${v.addresses.join(' ')}  port ${v.portId}\n`).join(''));
  }
  const amphorae = Object.values(state.amphorae);
  if (amphorae.length) {
    const line = (a: (typeof amphorae)[number]) =>
      `  ${a.amphoraId} ${a.host.padEnd(8)} ${a.interfaces.map((i) => `${i.name} ${i.addresses.join(' ')}`).join(', ')}  agent ${a.agent ? `pid ${a.agent.pid}` : 'not running'}\n`;
    process.stdout.write(`amphorae (lab exec AMPHORA-ID -- CMD enters one):\n${amphorae.map(line).join('')}`);
  }
  return 0;
}

async function vm(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      ...dirOption,
      network: { type: 'string' },
      host: { type: 'string' },
      'security-group': { type: 'string', multiple: true },
      'fixed-ip': { type: 'string', multiple: true },
      'allowed-address': { type: 'string', multiple: true },
      'no-port-security': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const dir = labDir(values.dir);
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new Error(`usage: cloudnet lab vm ${action ?? 'create|delete'} NAME …`);
  if (action === 'create') {
    if (!values.network) throw new Error('cloudnet lab vm create needs --network NET');
    const made = await client(dir).createVm({
      name,
      network: values.network,
      host: values.host,
      securityGroups: values['security-group'],
      fixedIps: values['fixed-ip']?.map(parseFixedIpOption),
      allowedAddresses: values['allowed-address']?.map(parseAllowedAddressOption),
      ...(values['no-port-security'] ? { portSecurity: false } : {}),
    });
    process.stdout.write(`${made.name}: on ${made.host}, port ${made.portId}, ${made.addresses.join(' ')}\n`);
    return 0;
  }
  if (action === 'delete') {
    await client(dir).deleteVm(name);
    return 0;
  }
  throw new Error(`cloudnet lab vm: unknown action '${action ?? ''}' (create, delete)`);
}

async function exec(argv: string[]): Promise<number> {
  const separator = argv.indexOf('--');
  if (separator < 0 || separator === argv.length - 1) throw new Error('usage: cloudnet lab exec NAME [--dir DIR] -- CMD [ARGS…]');
  const { values, positionals } = parseArgs({ args: argv.slice(0, separator), options: dirOption, allowPositionals: true, strict: true });
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new Error('usage: cloudnet lab exec NAME [--dir DIR] -- CMD [ARGS…]');
  const state = mustReadState(labDir(values.dir));
  return execInNamespace(namespaceOf(state, name), argv.slice(separator + 1));
}

async function agent(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({ args: rest, options: dirOption, allowPositionals: true, strict: true });
  const [host] = positionals;
  if (!host || (action !== 'stop' && action !== 'start')) throw new Error('usage: cloudnet lab agent stop|start HOST');
  const c = client(labDir(values.dir));
  await (action === 'stop' ? c.stopAgent(host) : c.startAgent(host));
  return 0;
}
