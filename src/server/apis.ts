import type { Compute } from '../controllers/balancer/compute.js';
import type { ApiModule } from './app.js';
import { amphoraeApiOptions } from './cloudnet/amphorae.js';
import { createCloudnetApi } from './cloudnet/index.js';
import { createIdentityApi } from './identity/index.js';
import { createKeyManagerApi, type KeyEncryptionKey } from './key-manager/index.js';
import { createLoadBalancerApi, defaultLoadBalancerConfig } from './loadbalancer/routes.js';
import { createNetworkApi } from './network/routes.js';

export interface ApiConfig {
  /** Token lifetime in seconds; Keystone's one hour unless set. */
  tokenExpirationSeconds?: number;
  /** Seconds without a heartbeat after which a host is down and its ports DOWN. */
  agentDownTimeSeconds?: number;
  /** Where amphora VMs are made (`--compute`); without, creating a load balancer ends in ERROR. */
  compute?: Compute;
  /** Seconds without a health report after which an amphora is failed over. */
  amphoraHeartbeatTimeoutSeconds?: number;
  /** The key manager's key-encryption key; without one the key manager is not served. */
  keyManagerKek?: KeyEncryptionKey;
}

/** Every API the server mounts, in one place: `cloudnet server` and the test server both build from this list. */
export function apiModules(config: ApiConfig = {}): ApiModule[] {
  return [
    createIdentityApi({ tokenExpirationSeconds: config.tokenExpirationSeconds }),
    createNetworkApi(),
    createLoadBalancerApi({ ...defaultLoadBalancerConfig, kek: config.keyManagerKek }),
    createCloudnetApi({
      hosts: config.agentDownTimeSeconds === undefined ? {} : { agentDownTimeSeconds: config.agentDownTimeSeconds },
      amphorae: amphoraeApiOptions({
        compute: config.compute,
        kek: config.keyManagerKek,
        ...(config.amphoraHeartbeatTimeoutSeconds === undefined ? {} : { heartbeatTimeoutMs: config.amphoraHeartbeatTimeoutSeconds * 1000 }),
      }),
    }),
    ...(config.keyManagerKek ? [createKeyManagerApi({ kek: config.keyManagerKek })] : []),
  ];
}
