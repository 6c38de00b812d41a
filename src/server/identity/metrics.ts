import { Counter, type Registry } from 'prom-client';

export interface IdentityMetrics {
  authentications: Counter<'methods' | 'result'>;
}

/** Token requests by method and outcome: a rise in `denied` is a guessing attempt or a broken client. */
export function createIdentityMetrics(registry: Registry): IdentityMetrics {
  return {
    authentications: new Counter({
      name: 'cloudnet_identity_authentications_total',
      help: 'POST /v3/auth/tokens requests, by authentication methods and result (issued, denied).',
      labelNames: ['methods', 'result'],
      registers: [registry],
    }),
  };
}

/** How the token validator answered: from its cache or by reading the database. */
export function createValidatorMetrics(registry: Registry): Counter<'source'> {
  return new Counter({
    name: 'cloudnet_token_validations_total',
    help: 'Token validations for the service APIs, by where the answer came from (cache, database).',
    labelNames: ['source'],
    registers: [registry],
  });
}
