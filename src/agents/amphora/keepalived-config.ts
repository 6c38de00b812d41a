import { AmphoraConfigError, absolutePath, cidr, integerIn, ipAddress, token, word } from './config-tokens.js';

/**
 * keepalived.conf (keepalived 2.2.7) for one amphora of an ACTIVE_STANDBY pair, a pure function.
 *
 * As Octavia does, both amphorae start in BACKUP with `nopreempt` and differ only in priority: the higher one
 * becomes master when neither hears the other, and a recovered amphora never takes the VIP back from a
 * healthy master (which would cost a second failover). VRRP goes unicast to the peer's VRRP address, since the
 * SDN is not a multicast fabric.
 *
 * Timing: VRRPv2 counts `advert_int` in whole seconds (a master is declared dead after about 3 s); VRRPv3
 * counts centiseconds, so with `advert_int 0.1` the standby takes over after 3 × 0.1 s plus a skew under
 * 0.1 s, well under a second. keepalived 2.2.7 accepts 0.01 to 40.95 with `vrrp_version 3` (and warns about
 * any fraction under version 2, which is why it is rendered globally).
 *
 * A failing `vrrp_script` moves the instance to FAULT, which releases the VIP, so a master whose HAProxy stops
 * answering hands the VIP to its peer.
 */

export interface KeepalivedConfig {
  /** Which amphora of the pair: only the priority differs. */
  role: 'MASTER' | 'BACKUP';
  /** keepalived's router_id, for its logs: the amphora id. */
  routerId: string;
  /** The VRRP instance's name: the load balancer id. */
  instanceName: string;
  /** The VRRP port's interface. */
  interface: string;
  /** 1..255, unique among the balancers whose VRRP ports share a network. */
  virtualRouterId: number;
  /** This amphora's VRRP address, the source of its adverts; its family is VRRP's family. */
  unicastSrcIp: string;
  /** The other amphora's VRRP address(es). */
  unicastPeers: string[];
  /** The VIPs this pair carries, IPv4 and IPv6. */
  vips: string[];
  /** Seconds between adverts, a multiple of 0.01 (VRRPv3). */
  advertIntervalSeconds: number;
  /** The check that the local HAProxy answers. */
  healthCheck: KeepalivedHealthCheck;
  /**
   * Executable keepalived runs on each state change (with `INSTANCE <name> <state> <priority>`), e.g. the one
   * `renderVrrpStateScript` writes; root-owned, like the check (script security).
   */
  notifyScript?: string;
}

export interface KeepalivedHealthCheck {
  /** Executable and arguments, run directly (no shell); the executable must be root-owned (script security). */
  argv: string[];
  /** Whole seconds between runs (keepalived 2.2.7 takes no fraction here). */
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Consecutive failures that fault the instance. */
  fall: number;
  /** Consecutive successes that clear the fault. */
  rise: number;
}

/** Octavia's priorities for the two roles. */
const PRIORITY = { MASTER: 100, BACKUP: 90 } as const;

/**
 * A check that the local HAProxy accepts a connection on its runtime API socket: it fails once HAProxy has
 * exited (the socket is gone or refuses), without sending a command that would need a shell to pipe.
 */
export function haproxySocketCheck(statsSocketPath: string): string[] {
  return ['/usr/bin/socat', '-u', 'OPEN:/dev/null', `UNIX-CONNECT:${absolutePath('stats socket path', statsSocketPath)}`];
}

export function renderKeepalivedConfig(config: KeepalivedConfig): string {
  const src = ipAddress('unicast_src_ip', config.unicastSrcIp);
  if (config.unicastPeers.length === 0) throw new AmphoraConfigError('unicast_peer needs at least one peer address');
  const peers = [...new Set(config.unicastPeers)].sort().map((p) => {
    if (ipAddress('unicast peer', p).family !== src.family) throw new AmphoraConfigError(`unicast peer ${p} is not of unicast_src_ip's family`);
    if (p === src.address) throw new AmphoraConfigError(`unicast peer ${p} is this amphora's own address`);
    return p;
  });
  if (config.vips.length === 0) throw new AmphoraConfigError('an amphora pair carries at least one VIP');
  // A VRRP instance advertises addresses of its own family only; the others move with it as excluded addresses.
  // A VIP may carry its subnet's prefix length (as the target gives it); without one keepalived adds a host address.
  const vips = [...new Set(config.vips)].sort().map((v) => ({ family: ipAddress('VIP', v.split('/')[0]!).family, address: cidr('VIP', v) }));
  const advertised = vips.filter((v) => v.family === src.family).map((v) => v.address);
  const excluded = vips.filter((v) => v.family !== src.family).map((v) => v.address);
  if (advertised.length === 0) throw new AmphoraConfigError(`no VIP of unicast_src_ip's family (IPv${src.family}) to advertise`);
  const check = config.healthCheck;
  if (check.argv.length === 0) throw new AmphoraConfigError('the health check needs a command');
  absolutePath('health check executable', check.argv[0]!);

  const lines = [
    'global_defs {',
    `    router_id ${token('router_id', config.routerId)}`,
    '    vrrp_version 3',
    // Scripts run as root only if nobody else can change them.
    '    enable_script_security',
    '    script_user root',
    '}',
    '',
    'vrrp_script check_haproxy {',
    `    script "${check.argv.map((a) => word('health check argument', a)).join(' ')}"`,
    `    interval ${integerIn('health check interval', check.intervalSeconds, 1, 4294)}`,
    `    timeout ${integerIn('health check timeout', check.timeoutSeconds, 1, 4294)}`,
    `    fall ${integerIn('health check fall', check.fall, 1, 100)}`,
    `    rise ${integerIn('health check rise', check.rise, 1, 100)}`,
    '}',
    '',
    `vrrp_instance ${token('VRRP instance name', config.instanceName)} {`,
    '    state BACKUP',
    `    interface ${interfaceName(config.interface)}`,
    `    virtual_router_id ${integerIn('virtual_router_id', config.virtualRouterId, 1, 255)}`,
    `    priority ${PRIORITY[config.role]}`,
    '    nopreempt',
    `    advert_int ${advertInterval(config.advertIntervalSeconds)}`,
    // Re-announce the master's MAC now and then, so a switch or neighbour cache that missed the takeover's
    // gratuitous ARPs converges anyway (Octavia's values).
    '    garp_master_refresh 5',
    '    garp_master_refresh_repeat 2',
    `    unicast_src_ip ${src.address}`,
    '    unicast_peer {',
    ...peers.map((p) => `        ${p}`),
    '    }',
  ];
  lines.push('    virtual_ipaddress {', ...advertised.map((v) => `        ${v}`), '    }');
  if (excluded.length > 0) lines.push('    virtual_ipaddress_excluded {', ...excluded.map((v) => `        ${v}`), '    }');
  lines.push('    track_script {', '        check_haproxy', '    }');
  if (config.notifyScript !== undefined) lines.push(`    notify ${absolutePath('notify script', word('notify script', config.notifyScript))}`);
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * A notify script (sh) that records the instance's state (MASTER, BACKUP, FAULT or STOP) in `stateFile`, replaced
 * atomically, so the agent learns the VRRP state by reading one file.
 */
export function renderVrrpStateScript(stateFile: string): string {
  const path = absolutePath('VRRP state file', word('VRRP state file', stateFile));
  return ['#!/bin/sh', `printf '%s\\n' "$3" > ${path}.new && mv -f ${path}.new ${path}`, ''].join('\n');
}

function advertInterval(seconds: number): string {
  const centiseconds = Math.round(seconds * 100);
  if (Math.abs(centiseconds - seconds * 100) > 1e-6 || centiseconds < 1 || centiseconds > 4095) {
    throw new AmphoraConfigError(`advert_int ${seconds} must be a multiple of 0.01 s between 0.01 and 40.95 (VRRPv3)`);
  }
  return (centiseconds / 100).toString();
}

function interfaceName(name: string): string {
  // Linux interface names: up to 15 bytes, no '/', ':' or whitespace.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new AmphoraConfigError(`interface ${JSON.stringify(name)} is not a Linux interface name`);
  return name;
}
