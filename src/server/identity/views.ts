import type { CatalogEntry } from './catalog.js';
import type { Domain, Project, Role, TokenRecord, User } from './model.js';
import type { Assignment } from './repository.js';

// Wire shapes of the Identity API (Keystone v3 api-ref).

const V3 = { id: 'v3.14', updated: '2020-04-07T00:00:00Z' };
const MEDIA_TYPES = [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }];

export function identityBase(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/identity`;
}

function v3Version(publicUrl: string) {
  return {
    id: V3.id,
    status: 'stable',
    updated: V3.updated,
    links: [{ rel: 'self', href: `${identityBase(publicUrl)}/v3/` }],
    'media-types': MEDIA_TYPES,
  };
}

export const renderVersions = (publicUrl: string) => ({ versions: { values: [v3Version(publicUrl)] } });
export const renderVersion = (publicUrl: string) => ({ version: v3Version(publicUrl) });

/** A token body; `catalog` is left out for unscoped tokens and when the client asked for `nocatalog`. */
export function renderToken(token: TokenRecord, catalog: CatalogEntry[] | undefined) {
  const body: Record<string, unknown> = {
    methods: token.methods,
    user: {
      domain: token.user.domain,
      id: token.user.id,
      name: token.user.name,
      password_expires_at: null,
    },
    audit_ids: token.auditIds,
    expires_at: token.expiresAt,
    issued_at: token.issuedAt,
  };
  if (token.project) {
    body.project = { domain: token.project.domain, id: token.project.id, name: token.project.name };
    body.is_domain = false;
    body.roles = token.roles;
    if (catalog) body.catalog = catalog;
  }
  return { token: body };
}

// ---- admin API entities

const v3 = (publicUrl: string) => `${identityBase(publicUrl)}/v3`;

/** The `links` of a collection; results are never paged here, so there is no previous or next page. */
export function collectionLinks(publicUrl: string, path: string) {
  return { self: `${v3(publicUrl)}${path}`, previous: null, next: null };
}

export function renderDomain(d: Domain, publicUrl: string) {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    enabled: d.enabled,
    tags: [],
    options: {},
    links: { self: `${v3(publicUrl)}/domains/${d.id}` },
  };
}

export function renderProject(p: Project, publicUrl: string) {
  return {
    ...p.extra,
    id: p.id,
    name: p.name,
    domain_id: p.domainId,
    description: p.description,
    enabled: p.enabled,
    is_domain: false,
    parent_id: p.domainId,
    tags: Array.isArray(p.extra.tags) ? p.extra.tags : [],
    options: {},
    links: { self: `${v3(publicUrl)}/projects/${p.id}` },
  };
}

/** Never the password or its hash. */
export function renderUser(u: User, publicUrl: string) {
  return {
    ...u.extra,
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: u.enabled,
    ...(u.defaultProjectId ? { default_project_id: u.defaultProjectId } : {}),
    password_expires_at: null,
    options: {},
    links: { self: `${v3(publicUrl)}/users/${u.id}` },
  };
}

export function renderRole(r: Role, publicUrl: string) {
  return {
    id: r.id,
    name: r.name,
    domain_id: null,
    description: r.description,
    options: {},
    links: { self: `${v3(publicUrl)}/roles/${r.id}` },
  };
}

export function renderAssignment(a: Assignment, includeNames: boolean, publicUrl: string) {
  const withNames = <T extends { id: string }>(ref: T, named: object) => (includeNames ? { id: ref.id, ...named } : { id: ref.id });
  return {
    role: withNames(a.role, { name: a.role.name }),
    user: withNames(a.user, { name: a.user.name, domain: a.user.domain }),
    scope: { project: withNames(a.project, { name: a.project.name, domain: a.project.domain }) },
    links: { assignment: `${v3(publicUrl)}/projects/${a.project.id}/users/${a.user.id}/roles/${a.role.id}` },
  };
}
