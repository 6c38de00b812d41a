/**
 * One port of a lab VM: what is asked for (network, fixed IPs, allowed address pairs, security groups, port
 * security) and the Network API body it becomes. Pure; the lab resolves names and makes the call. A VM with
 * several ports (e.g. an amphora on a tenant and a public network) is one of these per port.
 */
import { canonicalIp, parseCidr } from '../lib/ip.js';
import { LabError } from './control.js';

export interface FixedIpRequest {
  /** A subnet of the port's network, by name or id; absent: the API picks by the address (or any subnet). */
  subnet?: string;
  /** Absent: the next free address of the subnet. */
  ipAddress?: string;
}

export interface AllowedAddressRequest {
  /** An address or a CIDR. */
  ipAddress: string;
  /** Absent: the port's own MAC (Neutron). */
  macAddress?: string;
}

export interface VmPortRequest {
  network: string;
  fixedIps?: FixedIpRequest[];
  allowedAddresses?: AllowedAddressRequest[];
  securityGroups?: string[];
  /** False turns anti-spoofing and security groups off for the port (`--no-port-security`). */
  portSecurity?: boolean;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** `subnet=NAME|ID,ip-address=IP`, either part optional but not both (the openstack CLI's `--fixed-ip`). */
export function parseFixedIpOption(text: string): FixedIpRequest {
  const out: FixedIpRequest = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const [key, value] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (key === 'subnet' && value) out.subnet = value;
    else if (key === 'ip-address' && canonicalIp(value)) out.ipAddress = canonicalIp(value);
    else throw new LabError(400, `--fixed-ip ${text}: expected subnet=NAME|ID and/or ip-address=IP, got '${part}'`);
  }
  if (!out.subnet && !out.ipAddress) throw new LabError(400, `--fixed-ip ${text}: name a subnet, an address or both`);
  return out;
}

/** `IP[/LEN][,mac=MAC]`. */
export function parseAllowedAddressOption(text: string): AllowedAddressRequest {
  const [address, ...rest] = text.split(',');
  if (!address || !parseCidr(address)) throw new LabError(400, `--allowed-address ${text}: '${address ?? ''}' is not an address or CIDR`);
  const out: AllowedAddressRequest = { ipAddress: address };
  for (const part of rest) {
    const mac = part.startsWith('mac=') ? part.slice(4) : '';
    if (!MAC.test(mac) || out.macAddress) throw new LabError(400, `--allowed-address ${text}: expected IP[/LEN][,mac=MAC], got '${part}'`);
    out.macAddress = mac.toLowerCase();
  }
  return out;
}

/** What `vmPortBody` needs resolved from names: the network, its subnets, the security groups' ids. */
export interface ResolvedPortContext {
  network: { id: string; name: string; project_id: string };
  subnets: { id: string; name: string }[];
  securityGroupIds: string[];
}

/** The Network API body of a VM's port, bound to `host`, owned as Nova's would be (`device_id` = the VM). */
export function vmPortBody(vm: string, host: string, request: VmPortRequest, ctx: ResolvedPortContext): Record<string, unknown> {
  const subnetId = (nameOrId: string) => {
    const found = ctx.subnets.find((s) => s.id === nameOrId) ?? ctx.subnets.find((s) => s.name === nameOrId);
    if (!found) throw new LabError(404, `no subnet '${nameOrId}' on network ${ctx.network.name} (subnets: ${ctx.subnets.map((s) => s.name || s.id).join(', ')})`);
    return found.id;
  };
  const fixedIps = request.fixedIps?.map((f) => ({ ...(f.subnet ? { subnet_id: subnetId(f.subnet) } : {}), ...(f.ipAddress ? { ip_address: f.ipAddress } : {}) }));
  const pairs = request.allowedAddresses?.map((a) => ({ ip_address: a.ipAddress, ...(a.macAddress ? { mac_address: a.macAddress } : {}) }));
  return {
    network_id: ctx.network.id,
    project_id: ctx.network.project_id,
    name: vm,
    device_owner: 'compute:lab',
    device_id: vm,
    'binding:host_id': host,
    ...(fixedIps?.length ? { fixed_ips: fixedIps } : {}),
    ...(pairs?.length ? { allowed_address_pairs: pairs } : {}),
    ...(ctx.securityGroupIds.length ? { security_groups: ctx.securityGroupIds } : {}),
    ...(request.portSecurity === false ? { port_security_enabled: false } : {}),
  };
}
