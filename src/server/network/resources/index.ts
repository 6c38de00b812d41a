import type { NetworkConfig } from '../config.js';
import type { Resource } from '../resource.js';
import { createNetworkResource } from './networks.js';
import { createSecurityGroupRuleResource } from './security-group-rules.js';
import { createSecurityGroupResource } from './security-groups.js';

/** Every collection of the Network API, in the order `GET /v2.0/` lists them. */
export function createNetworkResources(config: NetworkConfig): Resource[] {
  return [createNetworkResource(config), createSecurityGroupResource(config), createSecurityGroupRuleResource()];
}
