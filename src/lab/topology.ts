/**
 * The lab's wiring, as lists of `ip` invocations (pure: names and addresses in, argument vectors out).
 *
 *   fabric namespace: br-underlay (the underlay switch) and br-public (the flat `public` physical network)
 *   host namespace:   underlay  <-veth->  u-hostN on br-underlay   (the host's tunnel IP)
 *                     phy-public <-veth-> p-hostN on br-public     (no address: the agent bridges `public` to it)
 *   public namespace: eth0 <-veth-> p-public on br-public          (the public gateway, a client of public)
 *   VM namespace:     eth0 <-veth-> tapXXXXXXXXXXX in its host     (the agent wires the tap)
 *
 * Every veth pair is created with both ends already inside their namespaces (`ip link add … netns A type
 * veth peer … netns B`), so no interface ever appears in the root namespace, and no namespace has a link
 * to anything but the lab's other namespaces: there is no path out of the machine.
 */
import { tunnelIp, UNDERLAY_PREFIX_LENGTH, type VmInterfaceConfig } from './addresses.js';
import { interfaceNames as ifn } from './names.js';

/** The arguments of one `ip` invocation. */
export type IpCommand = readonly string[];

const sysctl = (netns: string, key: string, value: string | number): IpCommand => ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`];

/** Creates a namespace with its loopback up (a namespace's loopback starts down). */
export function namespaceCommands(netns: string): IpCommand[] {
  return [
    ['netns', 'add', netns],
    ['-n', netns, 'link', 'set', 'lo', 'up'],
  ];
}

/** A veth pair whose ends are born in their namespaces. */
function vethCommand(a: { netns: string; name: string }, b: { netns: string; name: string }): IpCommand {
  return ['link', 'add', 'name', a.name, 'netns', a.netns, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.netns];
}

export function fabricCommands(fabric: string, physicalNetworks: string[]): IpCommand[] {
  const bridges = [ifn.underlayBridge, ...physicalNetworks.map(ifn.providerBridge)];
  return [
    ...namespaceCommands(fabric),
    // The fabric is a pair of switches, nothing more: no IPv6 link-local chatter from its ports and bridges.
    sysctl(fabric, 'net.ipv6.conf.default.disable_ipv6', 1),
    sysctl(fabric, 'net.ipv6.conf.all.disable_ipv6', 1),
    ...bridges.flatMap((br): IpCommand[] => [
      ['-n', fabric, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0'],
      ['-n', fabric, 'link', 'set', br, 'up'],
    ]),
  ];
}

export interface HostWiring {
  fabric: string;
  netns: string;
  name: string;
  index: number;
  physicalNetworks: string[];
}

export function hostCommands(h: HostWiring): IpCommand[] {
  const underlayPort = ifn.fabricUnderlayPort(h.name);
  return [
    ...namespaceCommands(h.netns),
    vethCommand({ netns: h.fabric, name: underlayPort }, { netns: h.netns, name: ifn.hostUnderlay }),
    ['-n', h.fabric, 'link', 'set', underlayPort, 'master', ifn.underlayBridge, 'up'],
    sysctl(h.netns, `net.ipv6.conf.${ifn.hostUnderlay}.disable_ipv6`, 1),
    ['-n', h.netns, 'addr', 'add', `${tunnelIp(h.index)}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', ifn.hostUnderlay],
    ['-n', h.netns, 'link', 'set', ifn.hostUnderlay, 'up'],
    ...h.physicalNetworks.flatMap((physnet): IpCommand[] => {
      const fabricPort = ifn.fabricProviderPort(h.name);
      const hostPort = ifn.hostProvider(physnet);
      return [
        vethCommand({ netns: h.fabric, name: fabricPort }, { netns: h.netns, name: hostPort }),
        ['-n', h.fabric, 'link', 'set', fabricPort, 'master', ifn.providerBridge(physnet), 'up'],
        // A pure layer-2 uplink: the host agent enslaves it to the network's bridge.
        sysctl(h.netns, `net.ipv6.conf.${hostPort}.disable_ipv6`, 1),
        ['-n', h.netns, 'link', 'set', hostPort, 'up'],
      ];
    }),
  ];
}

export interface PublicWiring {
  fabric: string;
  netns: string;
  physicalNetwork: string;
  /** ADDRESS/PREFIXLEN: the public subnet's gateway. */
  address: string;
}

export function publicCommands(p: PublicWiring): IpCommand[] {
  return [
    ...namespaceCommands(p.netns),
    vethCommand({ netns: p.fabric, name: ifn.fabricPublicPort }, { netns: p.netns, name: ifn.publicInterface }),
    ['-n', p.fabric, 'link', 'set', ifn.fabricPublicPort, 'master', ifn.providerBridge(p.physicalNetwork), 'up'],
    sysctl(p.netns, `net.ipv6.conf.${ifn.publicInterface}.disable_ipv6`, 1),
    ['-n', p.netns, 'addr', 'add', p.address, 'dev', ifn.publicInterface],
    ['-n', p.netns, 'link', 'set', ifn.publicInterface, 'up'],
  ];
}

export interface VmWiring {
  netns: string;
  hostNetns: string;
  tap: string;
  config: VmInterfaceConfig;
}

/** The VM's namespace and veth, then what cloud-init would do: MAC, MTU, addresses, default routes. */
export function vmCommands(v: VmWiring): IpCommand[] {
  return [...namespaceCommands(v.netns), ...vmInterfaceCommands({ ...v, dev: ifn.vmInterface, defaultRoutes: true })];
}

export interface VmInterfaceWiring extends VmWiring {
  /** The interface's name inside the VM (eth0, eth1, …). */
  dev: string;
  /** Whether this interface's gateways become the VM's default routes (only one interface's may). */
  defaultRoutes: boolean;
}

/** One interface of a VM: the veth to its tap on the host, the port's MAC, MTU and addresses. */
export function vmInterfaceCommands(v: VmInterfaceWiring): IpCommand[] {
  const { dev } = v;
  const mtu = String(v.config.mtu);
  return [
    vethCommand({ netns: v.hostNetns, name: v.tap }, { netns: v.netns, name: dev }),
    ['-n', v.netns, 'link', 'set', dev, 'address', v.config.mac, 'mtu', mtu],
    // No duplicate address detection: the control plane already guarantees the address is the port's alone.
    ...v.config.addresses.map((a): IpCommand => ['-n', v.netns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]),
    ['-n', v.netns, 'link', 'set', dev, 'up'],
    ...(v.defaultRoutes ? v.config.defaultRoutes : []).map((r): IpCommand => ['-n', v.netns, `-${r.ipVersion}`, 'route', 'add', 'default', 'via', r.via, 'dev', dev]),
    // The hypervisor side is up with the port's MTU; enslaving and filtering it is the host agent's work.
    ['-n', v.hostNetns, 'link', 'set', v.tap, 'mtu', mtu, 'up'],
  ];
}

/**
 * An amphora's namespace, before its interfaces: as Octavia's amphora image does, it may bind the VIP while it
 * does not hold it (HAProxy on the standby listens on the VIP before keepalived moves it there).
 */
export function amphoraNamespaceCommands(netns: string): IpCommand[] {
  return [
    ...namespaceCommands(netns),
    sysctl(netns, 'net.ipv4.ip_nonlocal_bind', 1),
    sysctl(netns, 'net.ipv6.ip_nonlocal_bind', 1),
  ];
}
