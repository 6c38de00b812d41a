/**
 * A client's session with cloudnet's Keystone: logs in with a password, keeps the token, logs in again shortly
 * before it expires or when a call answers 401. Agents, the CNI plugin and controllers all talk through one.
 */
export interface Credentials {
  /** e.g. http://127.0.0.1:9696/identity/v3 */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName?: string;
  projectDomainName?: string;
}

export class KeystoneSession {
  private token: string | undefined;
  private project: string | undefined;
  private expiresAt = 0;
  private pending: Promise<string> | undefined;

  constructor(private readonly credentials: Credentials) {}

  /** Credentials from the usual OS_* environment variables (what `cloudnet openrc` prints). */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): KeystoneSession {
    const need = (name: string) => {
      const v = env[name];
      if (!v) throw new Error(`${name} is not set (see 'cloudnet openrc')`);
      return v;
    };
    return new KeystoneSession({
      authUrl: need('OS_AUTH_URL'),
      username: need('OS_USERNAME'),
      password: need('OS_PASSWORD'),
      projectName: need('OS_PROJECT_NAME'),
      userDomainName: env.OS_USER_DOMAIN_NAME ?? 'Default',
      projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
    });
  }

  async getToken(): Promise<string> {
    // A minute's margin so that a long request never starts with a token about to lapse.
    if (this.token && Date.now() < this.expiresAt - 60_000) return this.token;
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The id of the project the session is scoped to. */
  async getProjectId(): Promise<string> {
    await this.getToken();
    return this.project!;
  }

  /** A fetch with the token, retried once with a fresh token if the first answer is 401. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      headers.set('x-auth-token', await this.getToken());
      const response = await fetch(url, { ...init, headers });
      if (response.status !== 401 || attempt > 0) return response;
      await response.body?.cancel();
      this.token = undefined;
    }
  }

  private async login(): Promise<string> {
    const c = this.credentials;
    const response = await fetch(`${c.authUrl.replace(/\/$/, '')}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName ?? 'Default' }, password: c.password } } },
          scope: { project: { name: c.projectName, domain: { name: c.projectDomainName ?? 'Default' } } },
        },
      }),
    });
    const token = response.headers.get('x-subject-token');
    const body = (await response.json().catch(() => ({}))) as { token?: { expires_at?: string; project?: { id?: string } } };
    if (response.status !== 201 || !token) throw new Error(`Keystone login as ${c.username} failed: HTTP ${response.status}`);
    this.token = token;
    this.project = body.token?.project?.id;
    this.expiresAt = body.token?.expires_at ? Date.parse(body.token.expires_at) : Date.now() + 3_600_000;
    return token;
  }
}
