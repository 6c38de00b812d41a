import type { Store, WriteTx } from '../../../store/store.js';
import type { NetworkConfig } from '../config.js';
import { enforceQuota } from '../quotas.js';
import { ResourceService } from '../resource.js';
import { createNetworkResource } from './networks.js';
import { createPortResource } from './ports.js';
import { createSecurityGroupRuleResource } from './security-group-rules.js';
import { createSecurityGroupResource, ensureDefaultSecurityGroup } from './security-groups.js';
import { createSubnetResource } from './subnets.js';

/**
 * Every collection of the Network API, in the order `GET /v2.0/` lists them. Resources that change another
 * (a subnet changes its network) reach it through the registry, bound late so the order of creation is free.
 */
export function createNetworkServices(config: NetworkConfig, store: Store): Map<string, ResourceService> {
  const services = new Map<string, ResourceService>();
  const change = (member: string) => (tx: WriteTx, id: string, write: () => Promise<void>) => services.get(member)!.change(tx, id, write);
  const quota = (tx: WriteTx, projectId: string, resource: string) => enforceQuota(tx, config, projectId, resource);
  for (const resource of [
    createNetworkResource(config),
    createSubnetResource({ changeNetwork: change('network'), changePort: change('port') }),
    createSecurityGroupResource(config, { changeSecurityGroup: change('security_group') }),
    createSecurityGroupRuleResource({ changeSecurityGroup: change('security_group') }),
    createPortResource({ defaultSecurityGroup: ensureDefaultSecurityGroup }),
  ]) {
    services.set(resource.spec.member, new ResourceService(resource, store, quota));
  }
  return services;
}
