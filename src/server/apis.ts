import type { ApiModule } from './app.js';
import { createChangesApi } from './cloudnet/changes.js';
import { createIdentityApi } from './identity/index.js';
import { createNetworkApi } from './network/routes.js';

export interface ApiConfig {
  /** Token lifetime in seconds; Keystone's one hour unless set. */
  tokenExpirationSeconds?: number;
}

/** Every API the server mounts, in one place: `cloudnet server` and the test server both build from this list. */
export function apiModules(config: ApiConfig = {}): ApiModule[] {
  return [createIdentityApi({ tokenExpirationSeconds: config.tokenExpirationSeconds }), createNetworkApi(), createChangesApi()];
}
