import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: cloudnet openrc [options]

Prints the export lines that point the openstack CLI at a cloudnet server:
  eval "$(cloudnet openrc)"

options:
  --user U             user name (default admin)
  --project P          project name (default admin)
  --password-file F    file holding the password (default: env CLOUDNET_ADMIN_PASSWORD if set,
                       else ./data/admin-password, where cloudnet server keeps a generated one)
  --url URL            the server's public URL (default http://127.0.0.1:9696)
  --region NAME        region (default RegionOne)
  -h, --help           show this help`;

export interface OpenrcSettings {
  url: string;
  user: string;
  password: string;
  project: string;
  region: string;
}

/** The OS_* variables keystoneauth reads for password authentication against this server. */
export function openrcVariables(s: OpenrcSettings): Record<string, string> {
  return {
    OS_AUTH_URL: `${s.url.replace(/\/+$/, '')}/identity/v3`,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: s.user,
    OS_PASSWORD: s.password,
    OS_PROJECT_NAME: s.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: s.region,
    OS_INTERFACE: 'public',
  };
}

/** POSIX shell single quoting: safe for any value, including quotes and `$`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function renderOpenrc(variables: Record<string, string>): string {
  return Object.entries(variables)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join('');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string', default: 'admin' },
      project: { type: 'string', default: 'admin' },
      'password-file': { type: 'string' },
      url: { type: 'string', default: 'http://127.0.0.1:9696' },
      region: { type: 'string', default: 'RegionOne' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const password = readPassword(values['password-file']);
  const variables = openrcVariables({ url: values.url, user: values.user, password, project: values.project, region: values.region });
  process.stdout.write(renderOpenrc(variables));
  return 0;
}

function readPassword(file: string | undefined): string {
  if (file === undefined && process.env.CLOUDNET_ADMIN_PASSWORD) return process.env.CLOUDNET_ADMIN_PASSWORD;
  const path = resolve(file ?? 'data/admin-password');
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new Error(`cannot read the password from ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); pass --password-file`);
  }
}
