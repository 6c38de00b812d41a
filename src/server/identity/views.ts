import type { CatalogEntry } from './catalog.js';
import type { TokenRecord } from './model.js';

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
