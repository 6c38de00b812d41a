import { ApiError } from '../../../lib/errors.js';
import type { Db } from '../../../store/database.js';
import type { WriteTx } from '../../../store/store.js';
import type { AuthContext } from '../../auth.js';
import { rowToObject, standardAttributes, toColumns, type ResourceSpec, type WireObject } from '../attributes.js';
import { chunks, tagsOf, type Builder, type Row } from '../repository.js';
import { convertEthertype, convertPort, convertProtocol, convertRemoteIpPrefix, normalizedCidr } from '../security-group-rule-rules.js';
import { boolean, InvalidValue, oneOf, string, type Convert } from '../validators.js';

// What the two security group resources share: their attribute maps, how a group is read together with
// its rules, and the rule writes a group makes itself (its first rules, the cascade of its delete).

export const securityGroupNotFound = (id: string) => new ApiError(404, 'SecurityGroupNotFound', `Security group ${id} does not exist`);

/** Only the group Neutron makes itself is called `default` (in any letter case). */
const nameNotDefault: Convert = (v) => {
  const name = string(255)(v) as string;
  if (name.toLowerCase() === 'default') throw new ApiError(409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  return name;
};

export const securityGroupSpec: ResourceSpec = {
  collection: 'security_groups',
  member: 'security_group',
  path: 'security-groups',
  extension: 'security-group',
  table: 'security_groups',
  title: 'Security group',
  notFoundType: 'SecurityGroupNotFound',
  notFoundMessage: (id) => `Security group ${id} does not exist`,
  attributes: [
    ...standardAttributes().map((a) => (a.name === 'name' ? { ...a, convert: nameNotDefault } : a)),
    { name: 'stateful', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean },
    { name: 'security_group_rules', storage: 'derived', type: 'json' },
  ],
};

/** Address groups are not implemented, so a rule can name none. */
const noAddressGroup: Convert = (v) => {
  if (v !== null) throw new InvalidValue('address groups are not supported');
  return null;
};

/** No validation in Neutron either: an unknown or malformed id is simply a group that does not exist (404). */
const remoteGroupId: Convert = (v) => (v === null || v === '' ? null : String(v));

export const securityGroupRuleSpec: ResourceSpec = {
  collection: 'security_group_rules',
  member: 'security_group_rule',
  path: 'security-group-rules',
  extension: 'security-group',
  table: 'security_group_rules',
  title: 'Security group rule',
  notFoundType: 'SecurityGroupRuleNotFound',
  notFoundMessage: (id) => `Security group rule ${id} does not exist`,
  attributes: [
    ...standardAttributes({ name: false, tags: false }),
    { name: 'security_group_id', storage: 'column', type: 'string', post: true, convert: string(36), filter: true, sort: true },
    { name: 'direction', storage: 'column', type: 'string', post: true, convert: oneOf(['ingress', 'egress']), filter: true, sort: true },
    { name: 'ethertype', storage: 'column', type: 'string', post: true, default: 'IPv4', convert: convertEthertype, filter: true, sort: true },
    { name: 'protocol', storage: 'column', type: 'string', post: true, default: null, convert: convertProtocol, filter: true, sort: true },
    { name: 'port_range_min', storage: 'column', type: 'integer', post: true, default: null, convert: convertPort, filter: true, sort: true },
    { name: 'port_range_max', storage: 'column', type: 'integer', post: true, default: null, convert: convertPort, filter: true, sort: true },
    { name: 'remote_ip_prefix', storage: 'column', type: 'string', post: true, default: null, convert: convertRemoteIpPrefix, filter: true, sort: true },
    { name: 'remote_group_id', storage: 'column', type: 'string', post: true, default: null, convert: remoteGroupId, filter: true, sort: true },
    { name: 'remote_address_group_id', storage: 'column', type: 'string', post: true, default: null, convert: noAddressGroup, filter: true, sort: true },
    { name: 'normalized_cidr', storage: 'derived', type: 'string' },
  ],
};

/** The groups a caller sees: its project's (an admin: all). */
export function groupVisibleTo(auth: AuthContext) {
  return auth.isAdmin ? undefined : (eb: Builder) => eb('security_groups.project_id', '=', auth.projectId);
}

/** A rule's wire object from its row. */
export function ruleObject(row: Row): WireObject {
  const rule = rowToObject(securityGroupRuleSpec, row);
  rule.normalized_cidr = normalizedCidr(rule.remote_ip_prefix as string | null);
  return rule;
}

/** Fills each group's `security_group_rules` with its full rule objects, whoever owns the rules. */
export async function hydrateSecurityGroups(db: Db, groups: WireObject[]): Promise<void> {
  const byId = new Map(groups.map((g) => [g.id as string, g]));
  for (const g of groups) g.security_group_rules = [];
  for (const chunk of chunks([...byId.keys()], 500)) {
    const rows = (await db
      .selectFrom('security_group_rules')
      .selectAll()
      .where('security_group_id', 'in', chunk)
      .orderBy('created_at')
      .orderBy('id')
      .execute()) as Row[];
    for (const row of rows) (byId.get(row.security_group_id as string)!.security_group_rules as WireObject[]).push(ruleObject(row));
  }
}

async function loadSecurityGroup(db: Db, id: string): Promise<WireObject> {
  const row = (await db.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as Row;
  const group = rowToObject(securityGroupSpec, row);
  group.tags = (await tagsOf(db, securityGroupSpec.collection, [id])).get(id) ?? [];
  await hydrateSecurityGroups(db, [group]);
  return group;
}

/** Records a group created outside the generic service (a project's default group) in the change log. */
export async function recordGroupCreated(tx: WriteTx, id: string): Promise<void> {
  const group = await loadSecurityGroup(tx.db, id);
  tx.record({ resource: securityGroupSpec.member, id, projectId: group.project_id as string, action: 'create', body: group, previous: null });
}

/** Inserts a complete rule (id, owner, timestamps, revision set). */
export async function insertRule(tx: WriteTx, rule: WireObject): Promise<void> {
  await tx.db.insertInto('security_group_rules').values(toColumns(securityGroupRuleSpec, rule)).execute();
}

/** Inserts rules a group is made with and records each, as a user's rule create would be. */
export async function insertGroupRules(tx: WriteTx, rules: WireObject[]): Promise<void> {
  for (const rule of rules) {
    await insertRule(tx, rule);
    const body = ruleObject(toColumns(securityGroupRuleSpec, rule));
    tx.record({ resource: securityGroupRuleSpec.member, id: rule.id as string, projectId: rule.project_id as string, action: 'create', body, previous: null });
  }
}

/** Deletes rules (their full rows) and records each delete. */
export async function deleteRules(tx: WriteTx, rules: Row[]): Promise<void> {
  for (const row of rules) {
    const previous = ruleObject(row);
    await tx.db.deleteFrom('security_group_rules').where('id', '=', previous.id as string).execute();
    tx.record({ resource: securityGroupRuleSpec.member, id: previous.id as string, projectId: previous.project_id as string, action: 'delete', body: null, previous });
  }
}

/** Whether any port uses the group. */
export async function groupInUse(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('port_security_groups').select('port_id').where('security_group_id', '=', id).limit(1).executeTakeFirst();
  return row !== undefined;
}
