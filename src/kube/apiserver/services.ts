// Service defaulting, validation and address/port allocation: the part of the real
// Service REST storage that decides clusterIPs, ipFamilies and nodePorts.
import type { FieldError } from './status.js';
import type { Json, JsonObject } from './patch.js';
import {
  IpAllocator,
  PortAllocator,
  parseIp,
  type AllocationFailure,
  type Cidr,
  type IpFamily,
} from './service-allocator.js';

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

export class ServiceInvalid extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.detail}`).join('; '));
  }
}

interface Allocations {
  ips: string[];
  nodePorts: number[];
}

function asObject(v: Json | undefined): JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
}

function allocationsOf(service: JsonObject | undefined): Allocations {
  const spec = asObject(service?.spec);
  const ips = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs.filter((ip) => typeof ip === 'string' && ip !== 'None') as string[]) : [];
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const nodePorts = ports.map((p) => asObject(p).nodePort).filter((n): n is number => typeof n === 'number' && n > 0);
  return { ips, nodePorts };
}

// The allocators' messages, worded as the real ClusterIP and NodePort allocators word them.
function ipFailureDetail(failure: AllocationFailure, requested: string | undefined, range: string): string {
  switch (failure) {
    case 'already-allocated':
      return `failed to allocate IP ${requested}: provided IP is already allocated`;
    case 'out-of-range':
      return `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${range}`;
    case 'full':
      return 'failed to allocate a serviceIP: range is full';
  }
}

function portFailureDetail(failure: AllocationFailure, range: string): string {
  switch (failure) {
    case 'already-allocated':
      return 'failed to allocate port: provided port is already allocated';
    case 'out-of-range':
      return `provided port is not in the valid range. The range of valid ports is ${range}`;
    case 'full':
      return 'failed to allocate a nodePort: range is full';
  }
}

export class ServiceNetworking {
  private readonly ipAllocators: IpAllocator[];
  private readonly ports: PortAllocator;

  constructor(cidrs: Cidr[], nodePorts: { first: number; last: number }, random: () => number = Math.random) {
    if (cidrs.length === 0 || cidrs.length > 2 || (cidrs.length === 2 && cidrs[0].family === cidrs[1].family)) {
      throw new Error('service CIDRs must be one range, or two of different IP families');
    }
    this.ipAllocators = cidrs.map((c) => new IpAllocator(c, random));
    this.ports = new PortAllocator(nodePorts.first, nodePorts.last, random);
  }

  families(): IpFamily[] {
    return this.ipAllocators.map((a) => a.cidr.family);
  }

  /** The address the `kubernetes` Service takes, as the real server reserves it. */
  kubernetesServiceIp(): string {
    return this.ipAllocators[0].firstAddress();
  }

  private allocator(family: IpFamily): IpAllocator | undefined {
    return this.ipAllocators.find((a) => a.cidr.family === family);
  }

  /**
   * Defaults and validates `service` (created, or replacing `previous`) and allocates what it
   * needs. Throws ServiceInvalid having taken nothing; on success the caller stores the result
   * and then calls `released(previous, result)`.
   */
  admit(service: JsonObject, previous?: JsonObject): JsonObject {
    const spec: JsonObject = { ...asObject(service.spec) };
    const oldSpec = previous ? asObject(previous.spec) : undefined;
    const errors: FieldError[] = [];
    const type = (spec.type ?? 'ClusterIP') as string;
    if (!TYPES.includes(type)) {
      errors.push({ type: 'FieldValueNotSupported', field: 'spec.type', value: type, detail: `supported values: ${TYPES.map((t) => `"${t}"`).join(', ')}` });
      throw new ServiceInvalid(errors);
    }
    spec.type = type;
    if (spec.sessionAffinity === undefined) spec.sessionAffinity = 'None';
    spec.ports = this.defaultPorts(spec, type, errors);

    if (type === 'ExternalName') {
      if (typeof spec.externalName !== 'string' || spec.externalName === '') {
        errors.push({ type: 'FieldValueRequired', field: 'spec.externalName', detail: '' });
      }
      // Switching to ExternalName gives the addresses back, as the real server does.
      if (oldSpec && spec.clusterIP === oldSpec.clusterIP) delete spec.clusterIP;
      if (oldSpec && JSON.stringify(spec.clusterIPs) === JSON.stringify(oldSpec.clusterIPs)) delete spec.clusterIPs;
      if ((spec.clusterIP ?? '') !== '') {
        errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIP', value: spec.clusterIP, detail: "may not be set for 'ExternalName' services" });
      }
      delete spec.clusterIP;
      delete spec.clusterIPs;
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
      if (errors.length) throw new ServiceInvalid(errors);
      return { ...service, spec, status: service.status ?? { loadBalancer: {} } };
    }
    if (spec.internalTrafficPolicy === undefined) spec.internalTrafficPolicy = 'Cluster';
    if ((type === 'NodePort' || type === 'LoadBalancer') && spec.externalTrafficPolicy === undefined) spec.externalTrafficPolicy = 'Cluster';
    if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;

    // An update that omits allocated values keeps them (the real patchAllocatedValues).
    if (oldSpec && oldSpec.type !== 'ExternalName') {
      if ((spec.clusterIP === undefined || spec.clusterIP === '') && spec.clusterIPs === undefined) {
        if (oldSpec.clusterIP !== undefined) spec.clusterIP = oldSpec.clusterIP;
        if (oldSpec.clusterIPs !== undefined) spec.clusterIPs = oldSpec.clusterIPs;
      }
      if (spec.ipFamilies === undefined && oldSpec.ipFamilies !== undefined) spec.ipFamilies = oldSpec.ipFamilies;
      if (spec.ipFamilyPolicy === undefined && oldSpec.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = oldSpec.ipFamilyPolicy;
    }
    if (errors.length) throw new ServiceInvalid(errors);

    const taken: Array<() => void> = [];
    try {
      this.assignClusterIps(spec, oldSpec, errors, taken);
      this.assignNodePorts(spec, type, oldSpec, errors, taken);
      if (errors.length) throw new ServiceInvalid(errors);
    } catch (e) {
      for (const undo of taken) undo();
      throw e;
    }
    return { ...service, spec, status: service.status ?? { loadBalancer: {} } };
  }

  /** Gives back what `previous` held and `current` (undefined: deleted) no longer does. */
  released(previous: JsonObject | undefined, current: JsonObject | undefined): void {
    const before = allocationsOf(previous);
    const after = allocationsOf(current);
    for (const ip of before.ips) {
      if (!after.ips.includes(ip)) {
        const family = parseIp(ip)?.family;
        if (family) this.allocator(family)?.release(ip);
      }
    }
    for (const port of before.nodePorts) if (!after.nodePorts.includes(port)) this.ports.release(port);
  }

  /** Marks the addresses and ports of an object stored without admit() (the `kubernetes` Service) as used. */
  reserve(service: JsonObject): void {
    const held = allocationsOf(service);
    for (const ip of held.ips) this.allocator(parseIp(ip)!.family)!.allocate(ip);
    for (const port of held.nodePorts) this.ports.allocate(port);
  }

  private defaultPorts(spec: JsonObject, type: string, errors: FieldError[]): Json[] {
    const ports = Array.isArray(spec.ports) ? spec.ports : [];
    const headless = spec.clusterIP === 'None' || (Array.isArray(spec.clusterIPs) && spec.clusterIPs[0] === 'None');
    if (ports.length === 0 && type !== 'ExternalName' && !headless) {
      errors.push({ type: 'FieldValueRequired', field: 'spec.ports', detail: '' });
    }
    const names = new Set<string>();
    return ports.map((raw, i) => {
      const port: JsonObject = { ...asObject(raw) };
      const field = `spec.ports[${i}]`;
      if (port.protocol === undefined) port.protocol = 'TCP';
      if (!PROTOCOLS.includes(port.protocol as string)) {
        errors.push({ type: 'FieldValueNotSupported', field: `${field}.protocol`, value: port.protocol, detail: 'supported values: "SCTP", "TCP", "UDP"' });
      }
      if (typeof port.port !== 'number' || !Number.isInteger(port.port) || port.port < 1 || port.port > 65535) {
        errors.push({ type: 'FieldValueInvalid', field: `${field}.port`, value: port.port ?? 0, detail: 'must be between 1 and 65535, inclusive' });
      }
      if (port.targetPort === undefined) port.targetPort = port.port ?? 0;
      const name = typeof port.name === 'string' ? port.name : '';
      if (ports.length > 1 && name === '') errors.push({ type: 'FieldValueRequired', field: `${field}.name`, detail: '' });
      if (name !== '' && names.has(name)) errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: name, detail: '' });
      names.add(name);
      return port;
    });
  }

  private assignClusterIps(spec: JsonObject, oldSpec: JsonObject | undefined, errors: FieldError[], taken: Array<() => void>): void {
    const requested = Array.isArray(spec.clusterIPs)
      ? (spec.clusterIPs as string[])
      : typeof spec.clusterIP === 'string' && spec.clusterIP !== ''
        ? [spec.clusterIP]
        : [];
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && requested[0] !== spec.clusterIP) {
      errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs', value: requested, detail: 'element [0] must match clusterIP' });
      return;
    }
    const headless = requested[0] === 'None';
    const oldIps = Array.isArray(oldSpec?.clusterIPs) ? (oldSpec.clusterIPs as string[]) : [];
    if (oldIps.length > 0 && requested.length > 0 && requested[0] !== oldIps[0]) {
      errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', value: requested, detail: 'may not change once set' });
      return;
    }

    const policy = (spec.ipFamilyPolicy as string | undefined) ?? (headless && spec.selector === undefined && !spec.ipFamilies ? 'RequireDualStack' : 'SingleStack');
    if (!POLICIES.includes(policy)) {
      errors.push({ type: 'FieldValueNotSupported', field: 'spec.ipFamilyPolicy', value: policy, detail: 'supported values: "PreferDualStack", "RequireDualStack", "SingleStack"' });
      return;
    }
    const configured = this.families();
    const families: IpFamily[] = [];
    const requestedFamilies = Array.isArray(spec.ipFamilies) ? (spec.ipFamilies as string[]) : [];
    requestedFamilies.forEach((f, i) => {
      if (f !== 'IPv4' && f !== 'IPv6') {
        errors.push({ type: 'FieldValueNotSupported', field: `spec.ipFamilies[${i}]`, value: f, detail: 'supported values: "IPv4", "IPv6"' });
      } else if (!configured.includes(f)) {
        errors.push({ type: 'FieldValueInvalid', field: `spec.ipFamilies[${i}]`, value: f, detail: 'not configured on this cluster' });
      } else if (families.includes(f)) {
        errors.push({ type: 'FieldValueDuplicate', field: `spec.ipFamilies[${i}]`, value: f, detail: '' });
      } else families.push(f);
    });
    if (!headless) {
      requested.forEach((ip, i) => {
        const family = parseIp(ip)?.family;
        if (!family) {
          errors.push({ type: 'FieldValueInvalid', field: `spec.clusterIPs[${i}]`, value: ip, detail: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' });
        } else if (families[i] === undefined && !families.includes(family)) families.push(family);
        else if (families[i] !== family) {
          errors.push({ type: 'FieldValueInvalid', field: `spec.clusterIPs[${i}]`, value: ip, detail: `expected an ${families[i]} value as indicated by \`ipFamilies[${i}]\`` });
        }
      });
    }
    if (errors.length) return;
    if (families.length === 0) families.push(configured[0]);
    if (policy !== 'SingleStack' && families.length === 1 && configured.length === 2) {
      families.push(configured.find((f) => f !== families[0])!);
    }
    if (policy === 'RequireDualStack' && families.length < 2) {
      errors.push({ type: 'FieldValueInvalid', field: 'spec.ipFamilyPolicy', value: policy, detail: 'this cluster is not configured for dual-stack services' });
      return;
    }
    if (policy === 'SingleStack' && families.length > 1) {
      errors.push({ type: 'FieldValueInvalid', field: 'spec.ipFamilyPolicy', value: policy, detail: 'must be RequireDualStack or PreferDualStack when multiple IP families are specified' });
      return;
    }
    spec.ipFamilies = families;
    spec.ipFamilyPolicy = policy;
    if (headless) {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
      return;
    }
    const ips: string[] = [];
    for (const [i, family] of families.entries()) {
      if (oldIps[i] !== undefined && (requested[i] === undefined || requested[i] === oldIps[i])) {
        ips.push(oldIps[i]);
        continue;
      }
      const allocator = this.allocator(family)!;
      const result = allocator.allocate(requested[i]);
      if (result === 'already-allocated' || result === 'out-of-range' || result === 'full') {
        errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs', value: requested, detail: ipFailureDetail(result, requested[i], allocator.cidr.text) });
        return;
      }
      taken.push(() => allocator.release(result));
      ips.push(result);
    }
    spec.clusterIP = ips[0];
    spec.clusterIPs = ips;
  }

  private assignNodePorts(spec: JsonObject, type: string, oldSpec: JsonObject | undefined, errors: FieldError[], taken: Array<() => void>): void {
    const ports = spec.ports as JsonObject[];
    const oldPorts = (Array.isArray(oldSpec?.ports) ? oldSpec.ports : []).map(asObject);
    const wantsNodePorts = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    const held = new Set(oldPorts.map((p) => p.nodePort).filter((n) => typeof n === 'number'));
    const inThisService = new Map<number, string>();
    spec.ports = ports.map((port, i) => {
      const old = oldPorts.find((p) => p.port === port.port && p.protocol === port.protocol);
      let nodePort = port.nodePort as number | undefined;
      if (nodePort === undefined && old?.nodePort !== undefined && type !== 'ClusterIP') nodePort = old.nodePort as number;
      if (type === 'ClusterIP' && nodePort !== undefined) {
        // Changing type to ClusterIP drops the ports it had, as the real server does.
        if (held.has(nodePort)) {
          const withoutNodePort = { ...port };
          delete withoutNodePort.nodePort;
          return withoutNodePort;
        }
        errors.push({ type: 'FieldValueForbidden', field: `spec.ports[${i}].nodePort`, detail: "may not be used when `type` is 'ClusterIP'" });
        return port;
      }
      if (!wantsNodePorts && nodePort === undefined) return port;
      if (nodePort !== undefined && (held.has(nodePort) || inThisService.has(nodePort))) {
        if (inThisService.get(nodePort) === port.protocol) {
          errors.push({ type: 'FieldValueDuplicate', field: `spec.ports[${i}].nodePort`, value: nodePort, detail: '' });
        }
        inThisService.set(nodePort, port.protocol as string);
        return { ...port, nodePort };
      }
      const result = this.ports.allocate(nodePort);
      if (typeof result !== 'number') {
        errors.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, value: nodePort ?? 0, detail: portFailureDetail(result, `${this.ports.first}-${this.ports.last}`) });
        return port;
      }
      taken.push(() => this.ports.release(result));
      inThisService.set(result, port.protocol as string);
      return { ...port, nodePort: result };
    });
  }
}
