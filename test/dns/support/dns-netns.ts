// A network namespace of the test's own (cn-<random6>-dns) holding the Kubernetes API stand-in and `cloudnet dns`,
// both as the built CLI, for behaviour that depends on the server's own addresses: inside, the server bound to
// every interface sees only the namespace's loopback with two test addresses on it, never the machine's.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { addNetns, deleteNetns } from '../../../src/lib/netns.js';
import { digInNetns, type DigResult } from './dns-client.js';

const execFileAsync = promisify(execFile);
const CLI = join(import.meta.dirname, '../../../dist/src/cli/main.js');
const REPO = join(import.meta.dirname, '../../..');

/** The namespace's own addresses besides 127.0.0.1 and ::1. */
export const NETNS_V4 = '198.18.7.53';
export const NETNS_V6 = 'fd00:7::53';
// The namespace is the test's alone, so fixed ports are free in it.
const DNS_PORT = 53;
const NETNS_API_URL = 'http://127.0.0.1:6443';

export class DnsNetns {
  readonly name = `cn-${randomBytes(3).toString('hex')}-dns`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'cloudnet-dns-netns-'));
  private readonly children: ChildProcess[] = [];
  private created = false;

  /** Makes the namespace, starts the stand-in and then the DNS server with `corefile(apiUrl)` in it. */
  async start(corefile: (apiUrl: string) => string): Promise<void> {
    this.created = true;
    await addNetns(this.name);
    // On lo (the machine may lack the dummy module): the server counts every address but 127/8 and ::1 as its own.
    await this.ip('addr', 'add', `${NETNS_V4}/32`, 'dev', 'lo');
    // nodad: usable at once, not tentative while the server reads its interfaces.
    await this.ip('addr', 'add', `${NETNS_V6}/128`, 'dev', 'lo', 'nodad');

    this.spawnInside(['kube-apiserver', '--listen', new URL(NETNS_API_URL).host]);
    await this.waitForApi();

    const conf = join(this.dir, 'Corefile');
    writeFileSync(conf, corefile(NETNS_API_URL));
    const dns = this.spawnInside(['dns', '-conf', conf, '-dns.port', String(DNS_PORT), '-workers', '1']);
    // The server prints its ports once it serves, which is after the kubernetes plugin's first sync.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      dns.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (new RegExp(`^\\.:${DNS_PORT}$`, 'm').test(out)) resolve();
      });
      dns.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      dns.once('exit', (code) => reject(new Error(`cloudnet dns exited ${code} before serving: ${err}`)));
    });
  }

  dig(name: string, type = 'A'): Promise<DigResult> {
    return digInNetns(this.name, NETNS_V4, DNS_PORT, name, type);
  }

  /** POSTs an object to the stand-in from inside the namespace, as `kubectl create -f` does; returns the HTTP status. */
  async create(path: string, body: unknown): Promise<number> {
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', this.name, 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '--data-binary', JSON.stringify(body), `${NETNS_API_URL}${path}`]);
    return Number(stdout);
  }

  /** Stops what it started (newest first), anything else left in the namespace, then the namespace itself. */
  async close(): Promise<void> {
    for (const child of this.children.reverse()) await stop(child);
    if (this.created) {
      const { stdout } = await execFileAsync('ip', ['netns', 'pids', this.name]).catch(() => ({ stdout: '' }));
      // Only this run's processes can be in its namespace; one may be gone by now.
      for (const pid of stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      await deleteNetns(this.name);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ip(...args: string[]): Promise<unknown> {
    return execFileAsync('ip', ['-n', this.name, ...args]);
  }

  // `ip netns exec` execs the command, so the child's pid is the node process itself.
  private spawnInside(args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOUDNET_LOG_LEVEL: process.env.CLOUDNET_LOG_LEVEL ?? 'warn' } });
    // Drained so that a chatty log never blocks the child on a full pipe.
    child.stdout!.resume();
    child.stderr!.resume();
    this.children.push(child);
    return child;
  }

  private async waitForApi(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const up = await execFileAsync('ip', ['netns', 'exec', this.name, 'curl', '-sf', '-o', '/dev/null', `${NETNS_API_URL}/readyz`]).then(() => true, () => false);
      if (up) return;
      await sleep(100);
    }
    throw new Error(`the Kubernetes API stand-in in ${this.name} did not come up`);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
