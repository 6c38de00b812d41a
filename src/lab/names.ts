/**
 * What the lab calls things. Every network namespace a lab run creates starts with a prefix unique to that
 * run (`cn-<run id>-`), so that two labs, or a lab and the tests, never touch each other's namespaces and a
 * crashed run's leftovers can be found by name. Interface names live inside those namespaces, so they only
 * need to be unique per namespace — and shorter than the kernel's 15 characters.
 */
import { randomBytes } from 'node:crypto';

/** The kernel's limit on interface names (IFNAMSIZ less the terminating NUL). */
export const MAX_INTERFACE_NAME = 15;
/** Hosts are numbered from 1; the underlay plan gives each one address out of a /24. */
export const MAX_HOSTS = 200;

const RUN_ID = /^[a-z0-9]{6}$/;
const VM_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newRunId(): string {
  return [...randomBytes(6)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

export function namespacePrefix(runId: string): string {
  if (!isRunId(runId)) throw new Error(`a lab run id is 6 lowercase letters or digits, not '${runId}'`);
  return `cn-${runId}-`;
}

export function hostName(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS) throw new Error(`host index must be 1..${MAX_HOSTS}, not ${index}`);
  return `host${index}`;
}

/** The names of the lab's fixed nodes; a VM may not take one, so that `lab exec NAME` is never ambiguous. */
export function isNodeName(name: string): boolean {
  return name === 'fabric' || name === 'public' || /^host\d+$/.test(name);
}

/** Why a VM name is unusable, or undefined if it is fine. It becomes part of a namespace name and a device id. */
export function vmNameProblem(name: string): string | undefined {
  if (!VM_NAME.test(name)) return `a VM name is 1 to 32 lowercase letters, digits and inner dashes, not '${name}'`;
  if (isNodeName(name)) return `'${name}' is the name of a lab node (fabric, public, hostN); pick another VM name`;
  return undefined;
}

export const namespaceNames = {
  fabric: (runId: string) => `${namespacePrefix(runId)}fabric`,
  /** The public network's router and client: owns the public gateway address, reaches VMs and VIPs on `public`. */
  public: (runId: string) => `${namespacePrefix(runId)}public`,
  host: (runId: string, host: string) => `${namespacePrefix(runId)}${host}`,
  vm: (runId: string, vm: string) => `${namespacePrefix(runId)}vm-${vm}`,
  /** An amphora VM, named by its amphora id (the compute id the balancer controller knows it by). */
  amphora: (runId: string, amphoraId: string) => `${namespacePrefix(runId)}amp-${amphoraId}`,
};

export const interfaceNames = {
  /** Fabric bridges: the underlay switch that carries VXLAN, and the switch of the flat `public` physical network. */
  underlayBridge: 'br-underlay',
  providerBridge: (physnet: string) => checked(`br-${physnet}`),
  /** Fabric side of a host's underlay and provider links. */
  fabricUnderlayPort: (host: string) => checked(`u-${host}`),
  fabricProviderPort: (host: string) => checked(`p-${host}`),
  /** Host side: the tunnel endpoint carries the host's underlay address; the provider link carries no address. */
  hostUnderlay: 'underlay',
  hostProvider: (physnet: string) => checked(`phy-${physnet}`),
  /** The public namespace's link into the provider bridge. */
  fabricPublicPort: 'p-public',
  publicInterface: 'eth0',
  /** What Nova calls a VM's interface on the hypervisor: `tap` and the port id's first 11 characters. */
  tap: (portId: string) => `tap${portId.slice(0, 11)}`,
  vmInterface: 'eth0',
  /** A VM with several ports (an amphora) has eth0, eth1, … in the order they were plugged. */
  vmInterfaceAt: (index: number) => `eth${index}`,
};

function checked(name: string): string {
  if (name.length > MAX_INTERFACE_NAME) throw new Error(`interface name '${name}' is longer than ${MAX_INTERFACE_NAME} characters`);
  return name;
}
