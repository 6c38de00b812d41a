/** Options the agents' commands share: metrics, Keystone credentials (as the `openstack` CLI takes them), durations. */

export const credentialOptions = {
  'os-auth-url': { type: 'string' },
  'os-username': { type: 'string' },
  'os-password': { type: 'string' },
  'os-project-name': { type: 'string' },
  'os-user-domain-name': { type: 'string' },
  'os-project-domain-name': { type: 'string' },
} as const;

/** Every agent serves metrics on request, logs in to Keystone and has --help. */
export const agentOptions = {
  'metrics-listen': { type: 'string' },
  ...credentialOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

/** The usage lines of agentOptions. */
export const AGENT_OPTIONS_USAGE = `  --metrics-listen HOST:PORT        serve Prometheus metrics at /metrics (port 0: any free port)
  --os-auth-url URL                 Keystone (default env OS_AUTH_URL)
  --os-username U, --os-password P, --os-project-name P,
  --os-user-domain-name D, --os-project-domain-name D   (default env OS_*)
  -h, --help                        show this help`;

/** The environment with the credential flags given on the command line put over its OS_* variables. */
export function environmentWithCredentials(values: Partial<Record<keyof typeof credentialOptions, string>>, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const flag of Object.keys(credentialOptions) as (keyof typeof credentialOptions)[]) {
    const value = values[flag];
    if (value !== undefined) out[flag.toUpperCase().replaceAll('-', '_')] = value;
  }
  return out;
}

/** A flag's positive number of seconds, in milliseconds. */
export function seconds(value: string, flag: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${flag} must be a positive number of seconds`);
  return n * 1000;
}
