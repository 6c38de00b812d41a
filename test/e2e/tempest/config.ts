/**
 * tempest.conf and accounts.yaml for a cloudnet cloud, as pure functions of what the harness learnt about the cloud.
 * Suites (the Network API here, octavia-tempest-plugin later) layer their own sections over `cloudnetTempestConf`.
 */

export type IniValue = string | number | boolean | string[];
export type IniSections = Record<string, Record<string, IniValue>>;

/** Later layers win, key by key. */
export function mergeIni(...layers: IniSections[]): IniSections {
  const merged: IniSections = {};
  for (const layer of layers) {
    for (const [section, options] of Object.entries(layer)) merged[section] = { ...(merged[section] ?? {}), ...options };
  }
  return merged;
}

export function renderIni(sections: IniSections): string {
  const out: string[] = [];
  for (const [section, options] of Object.entries(sections)) {
    out.push(`[${section}]`);
    for (const [key, value] of Object.entries(options)) {
      const text = Array.isArray(value) ? value.join(',') : typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
      if (/[\r\n]/.test(text)) throw new Error(`tempest.conf [${section}] ${key}: a value may not span lines`);
      out.push(`${key} = ${text}`);
    }
    out.push('');
  }
  return out.join('\n');
}

export interface CloudFacts {
  /** Keystone v3 base, e.g. http://127.0.0.1:40123/identity/v3 */
  identityUri: string;
  region: string;
  /** The aliases GET /v2.0/extensions returned: tempest decides what to run from exactly these. */
  networkExtensions: string[];
  /** The external network tests may look for (the lab's flat `public`). */
  publicNetworkId?: string;
  publicNetworkName?: string;
}

export interface WorkspacePaths {
  accountsFile: string;
  lockPath: string;
  logDir: string;
}

/** Address plan of tempest's own subnets: inside 198.18.0.0/15 (RFC 2544 benchmarking space), never a real network. */
export const TEMPEST_PROJECT_CIDR = '198.18.0.0/16';
export const TEMPEST_PROJECT_MASK_BITS = 28;
export const TEMPEST_PROJECT_V6_CIDR = '2001:db8::/48';
export const TEMPEST_PROJECT_V6_MASK_BITS = 64;

/** What every suite against this cloud shares: Keystone v3 only, pre-provisioned accounts, Neutron and nothing of compute. */
export function cloudnetTempestConf(facts: CloudFacts, paths: WorkspacePaths): IniSections {
  return {
    DEFAULT: { log_dir: paths.logDir, log_file: 'tempest.log', use_stderr: false },
    oslo_concurrency: { lock_path: paths.lockPath },
    auth: {
      use_dynamic_credentials: false,
      test_accounts_file: paths.accountsFile,
      default_credentials_domain_name: 'Default',
      admin_domain_name: 'Default',
      create_isolated_networks: false,
    },
    identity: {
      auth_version: 'v3',
      uri_v3: facts.identityUri,
      region: facts.region,
      v3_endpoint_type: 'public',
      admin_role: 'admin',
      disable_ssl_certificate_validation: true,
    },
    'identity-feature-enabled': { api_v2: false, api_v3: true },
    service_available: {
      neutron: true,
      nova: false,
      cinder: false,
      glance: false,
      swift: false,
      horizon: false,
    },
    validation: { run_validation: false },
    network: {
      catalog_type: 'network',
      region: facts.region,
      endpoint_type: 'publicURL',
      project_network_cidr: TEMPEST_PROJECT_CIDR,
      project_network_mask_bits: TEMPEST_PROJECT_MASK_BITS,
      project_network_v6_cidr: TEMPEST_PROJECT_V6_CIDR,
      project_network_v6_mask_bits: TEMPEST_PROJECT_V6_MASK_BITS,
      project_networks_reachable: false,
      shared_physical_network: false,
      ...(facts.publicNetworkId ? { public_network_id: facts.publicNetworkId } : {}),
      ...(facts.publicNetworkName ? { floating_network_name: facts.publicNetworkName } : {}),
    },
    'network-feature-enabled': {
      api_extensions: facts.networkExtensions,
      ipv6: true,
      ipv6_subnet_attributes: true,
      port_admin_state_change: true,
      port_security: facts.networkExtensions.includes('port-security'),
      floating_ips: facts.networkExtensions.includes('router'),
    },
  };
}

export interface Account {
  username: string;
  password: string;
  projectName: string;
  roles: string[];
  /** `admin` marks an account tempest may hand out as admin credentials. */
  types?: string[];
}

function yamlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** tempest's pre-provisioned accounts file (`[auth] test_accounts_file`). */
export function renderAccountsYaml(accounts: Account[]): string {
  const out: string[] = [];
  for (const a of accounts) {
    out.push(`- username: ${yamlString(a.username)}`);
    out.push(`  project_name: ${yamlString(a.projectName)}`);
    out.push(`  password: ${yamlString(a.password)}`);
    out.push(`  user_domain_name: 'Default'`, `  project_domain_name: 'Default'`);
    if (a.roles.length) out.push('  roles:', ...a.roles.map((r) => `    - ${yamlString(r)}`));
    if (a.types?.length) out.push('  types:', ...a.types.map((t) => `    - ${yamlString(t)}`));
  }
  return out.join('\n') + '\n';
}
