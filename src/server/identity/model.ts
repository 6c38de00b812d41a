// The identity domain objects as the service works with them (rows are translated in repository.ts,
// wire shapes in views.ts).

export interface Domain {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
}

export interface Project {
  id: string;
  domainId: string;
  name: string;
  description: string;
  enabled: boolean;
  /** Attributes beyond Keystone's own, kept as the client gave them. */
  extra: Record<string, unknown>;
}

export interface User {
  id: string;
  domainId: string;
  name: string;
  enabled: boolean;
  passwordHash: string | null;
  defaultProjectId: string | null;
  extra: Record<string, unknown>;
}

export interface Role {
  id: string;
  name: string;
  description: string;
}

export interface NamedRef {
  id: string;
  name: string;
}

/** A stored token joined with what it speaks for, as of now (roles are the user's current roles). */
export interface TokenRecord {
  user: NamedRef & { domain: NamedRef; enabled: boolean };
  project: (NamedRef & { domain: NamedRef; enabled: boolean }) | null;
  roles: NamedRef[];
  methods: string[];
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** The id Keystone gives its built-in domain; clients name it in OS_USER_DOMAIN_ID=default. */
export const DEFAULT_DOMAIN_ID = 'default';
