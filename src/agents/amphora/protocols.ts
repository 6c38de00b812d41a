import type { HealthMonitorType, ListenerProtocol, PoolProtocol } from './types.js';

/**
 * Octavia's valid listener/pool protocol combinations (api-ref, "Protocol Combinations (Listener/Pool)"),
 * without SCTP, which cloudnet does not offer. A pool serves a listener (as its default pool or through an
 * L7 policy) only in these pairs; the API refuses the rest with 400, the renderers throw.
 */
export const POOL_PROTOCOLS_BY_LISTENER: Readonly<Record<ListenerProtocol, readonly PoolProtocol[]>> = {
  HTTP: ['HTTP', 'PROXY', 'PROXYV2'],
  HTTPS: ['HTTPS', 'PROXY', 'PROXYV2', 'TCP'],
  TCP: ['HTTP', 'HTTPS', 'PROXY', 'PROXYV2', 'TCP'],
  TERMINATED_HTTPS: ['HTTP', 'PROXY', 'PROXYV2'],
  UDP: ['UDP'],
};

/** Health monitor types each pool protocol accepts (Octavia's health monitor validation: UDP-CONNECT for UDP pools only, which take no PING, HTTPS or TLS-HELLO). */
export const MONITOR_TYPES_BY_POOL: Readonly<Record<PoolProtocol, readonly HealthMonitorType[]>> = {
  HTTP: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO'],
  HTTPS: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO'],
  PROXY: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO'],
  PROXYV2: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO'],
  TCP: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO'],
  UDP: ['HTTP', 'TCP', 'UDP-CONNECT'],
};

/** HAProxy's proxy mode for a listener: HTTP is parsed for HTTP and TERMINATED_HTTPS, everything else is a byte stream. */
export function listenerMode(protocol: ListenerProtocol): 'http' | 'tcp' {
  return protocol === 'HTTP' || protocol === 'TERMINATED_HTTPS' ? 'http' : 'tcp';
}
