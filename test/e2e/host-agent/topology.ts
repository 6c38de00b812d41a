/**
 * Namespaces for host-agent end-to-end tests: a fabric bridge, hosts with an underlay veth into it, VMs
 * plugged the way the hypervisor does (tap<11 chars of port id> in the host, eth0 in the VM with the port's
 * MAC). Every name starts with a per-run prefix; cleanup() removes them all, also after a failure.
 * Addresses only from 198.18.0.0/15; nothing is added to the root namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execTool } from '../../../src/lib/exec.js';
import { addNetns, deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { tapName } from '../../../src/agents/host/names.js';

export class Topology {
  readonly prefix = `cn-${randomBytes(3).toString('hex')}`;
  readonly fabric = `${this.prefix}-fab`;
  private readonly children = new Set<ChildProcess>();

  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  async createFabric(): Promise<void> {
    await addNetns(this.fabric);
    await this.ip(this.fabric, 'link add fabric type bridge', 'link set fabric up');
  }

  /** A host namespace with `uplink` (ADDRESS/24) into the fabric. */
  async addHost(name: string, address: string): Promise<string> {
    const ns = this.ns(name);
    await addNetns(ns);
    await this.ip(ns, `link add uplink type veth peer name ${name} netns ${this.fabric}`, `addr add ${address}/24 dev uplink`, 'link set uplink up');
    await this.ip(this.fabric, `link set ${name} master fabric up`);
    return ns;
  }

  /** What the hypervisor does for a VM: its namespace, the veth pair, MAC, MTU and address inside. */
  async addVm(name: string, hostNs: string, port: { id: string; mac: string; mtu: number; address: string; address6?: string }): Promise<string> {
    const ns = this.ns(name);
    await addNetns(ns);
    await this.ip(hostNs, `link add ${tapName(port.id)} type veth peer name eth0 netns ${ns}`);
    await this.ip(ns, `link set eth0 address ${port.mac} mtu ${port.mtu} up`, `addr add ${port.address}/24 dev eth0`);
    // nodad: the address is usable at once instead of after a second of duplicate detection.
    if (port.address6) await this.ip(ns, `addr add ${port.address6}/64 dev eth0 nodad`);
    return ns;
  }

  /** An outside network on a host's provider interface: a namespace holding the far end of `ifname`. */
  async addProviderNetwork(name: string, hostNs: string, ifname: string, address: string): Promise<string> {
    const ns = this.ns(name);
    await addNetns(ns);
    await this.ip(hostNs, `link add ${ifname} type veth peer name ext netns ${ns}`);
    await this.ip(ns, `addr add ${address}/24 dev ext`, 'link set ext up');
    return ns;
  }

  async exec(ns: string, argv: string[], timeoutMs = 10_000): Promise<string> {
    return (await execTool('ip', ['netns', 'exec', ns, ...argv], { timeoutMs })).stdout;
  }

  async ip(ns: string, ...lines: string[]): Promise<void> {
    await execTool('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  }

  /** Sends one gratuitous ARP (request form, sender = target = `ip`) from `ifname`, as keepalived does on failover. */
  async gratuitousArp(ns: string, ifname: string, mac: string, ip: string): Promise<void> {
    // No arping on these machines: a raw frame from Python's standard library.
    const script = [
      'import socket, struct, sys',
      's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((sys.argv[1], 0))',
      'mac = bytes.fromhex(sys.argv[2].replace(":", "")); ip = socket.inet_aton(sys.argv[3])',
      's.send(b"\\xff" * 6 + mac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\\x00" * 6 + ip)',
    ].join('\n');
    await this.exec(ns, ['python3', '-c', script, ifname, mac, ip]);
  }

  /** A namespace's conntrack table as the kernel shows it (no `conntrack` tool needed), one entry per line. */
  async conntrackEntries(ns: string): Promise<string[]> {
    return (await this.exec(ns, ['cat', '/proc/net/nf_conntrack'])).split('\n').filter(Boolean);
  }

  async ping(fromNs: string, to: string, extra: string[] = []): Promise<boolean> {
    try {
      await this.exec(fromNs, ['ping', '-c', '1', '-W', '1', ...extra, to]);
      return true;
    } catch {
      return false;
    }
  }

  /** A long-running process (agent, listener, ping loop) stopped at cleanup. */
  spawn(argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess & { output: () => string } {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return Object.assign(child, { output: () => output });
  }

  async stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stopChild(c)));
    for (const ns of await listNetns()) if (ns.startsWith(`${this.prefix}-`)) await deleteNetns(ns);
  }
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
