import { randomUUID } from 'node:crypto';
import { ApiError } from '../../../lib/errors.js';
import type { Db } from '../../../store/database.js';
import type { WriteTx } from '../../../store/store.js';
import { toColumns, type WireObject } from '../attributes.js';
import type { NetworkConfig } from '../config.js';
import { enforceQuota } from '../quotas.js';
import { writeColumns, type Resource } from '../resource.js';
import type { Row } from '../repository.js';
import { ETHERTYPES } from '../security-group-rule-rules.js';
import {
  deleteRules,
  groupInUse,
  groupVisibleTo,
  hydrateSecurityGroups,
  insertGroupRules,
  recordGroupCreated,
  securityGroupSpec,
} from './security-group-data.js';

const inUse = (id: string) => new ApiError(409, 'SecurityGroupInUse', `Security Group ${id} in use.`);

export interface SecurityGroupResourceOptions {
  /** Runs a write of another group's rules as a change of that group (a rule of it goes away with this group). */
  changeSecurityGroup(tx: WriteTx, id: string, write: () => Promise<void>): Promise<void>;
}

export function createSecurityGroupResource(config: NetworkConfig, { changeSecurityGroup }: SecurityGroupResourceOptions): Resource {
  return {
    spec: securityGroupSpec,
    visibleTo: groupVisibleTo,
    hydrate: hydrateSecurityGroups,
    prepareList: ensureDefaultSecurityGroupBeforeList,
    async create(tx, values) {
      const projectId = values.project_id as string;
      await ensureDefaultSecurityGroup(tx, projectId);
      // A new group comes with its egress rules, which count against the rule quota.
      await enforceQuota(tx, config, projectId, 'security_group_rule', ETHERTYPES.length);
      await tx.db.insertInto('security_groups').values(toColumns(securityGroupSpec, values)).execute();
      await insertGroupRules(tx, egressRules(values.id as string, projectId, tx.now));
    },
    async update(tx, current, changes) {
      const id = current.id as string;
      if (changes.name !== undefined && current.name === 'default') {
        throw new ApiError(409, 'SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
      }
      // Ports enforce a group's statefulness; it cannot change under them.
      if (changes.stateful !== undefined && changes.stateful !== current.stateful && (await groupInUse(tx.db, id))) throw inUse(id);
      await writeColumns(tx, securityGroupSpec, id, changes);
    },
    async delete(tx, current, auth) {
      const id = current.id as string;
      if (await groupInUse(tx.db, id)) throw inUse(id);
      if (current.name === 'default' && !auth.isAdmin) {
        throw new ApiError(409, 'SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
      }
      await deleteSecurityGroup(tx, id, changeSecurityGroup);
    },
  };
}

/**
 * The id of the project's default group, creating it (with Neutron's default rules) if the project has
 * none yet. Called on a project's first need: listing or creating groups or rules, creating a port.
 * Concurrent first calls create one group: they serialise on a per-project lock, and the primary key of
 * `default_security_groups` holds even without it.
 */
export async function ensureDefaultSecurityGroup(tx: WriteTx, projectId: string): Promise<string> {
  const existing = await defaultGroupId(tx.db, projectId);
  if (existing) return existing;
  await tx.lock(`default-security-group:${projectId}`);
  const raced = await defaultGroupId(tx.db, projectId);
  if (raced) return raced;

  const id = randomUUID();
  const group: WireObject = {
    id,
    project_id: projectId,
    name: 'default',
    description: 'Default security group',
    stateful: true,
    created_at: tx.now,
    updated_at: tx.now,
    revision_number: 1,
  };
  await tx.db.insertInto('security_groups').values(toColumns(securityGroupSpec, group)).execute();
  await tx.db.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: id }).execute();
  await insertGroupRules(tx, [...memberIngressRules(id, projectId, tx.now), ...egressRules(id, projectId, tx.now)]);
  await recordGroupCreated(tx, id);
  return id;
}

/** Listing groups or rules is a project's first need of its default group. */
export const ensureDefaultSecurityGroupBeforeList: NonNullable<Resource['prepareList']> = async (store, projectId, auth) => {
  // Neutron never lets one project bring another's default group into being; an admin may.
  if (projectId !== auth.projectId && !auth.isAdmin) return;
  if (await store.read((db) => defaultGroupId(db, projectId))) return;
  await store.write((tx) => ensureDefaultSecurityGroup(tx, projectId));
};

export async function defaultGroupId(db: Db, projectId: string): Promise<string | undefined> {
  const row = await db.selectFrom('default_security_groups').select('security_group_id').where('project_id', '=', projectId).executeTakeFirst();
  return row?.security_group_id as string | undefined;
}

function newRule(securityGroupId: string, projectId: string, now: string, direction: 'ingress' | 'egress', ethertype: string, remoteGroupId: string | null): WireObject {
  return {
    id: randomUUID(),
    project_id: projectId,
    security_group_id: securityGroupId,
    direction,
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: remoteGroupId,
    remote_address_group_id: null,
    description: '',
    created_at: now,
    updated_at: now,
    revision_number: 1,
  };
}

/** Every group lets all traffic out, over both IP versions. */
function egressRules(groupId: string, projectId: string, now: string): WireObject[] {
  return ETHERTYPES.map((e) => newRule(groupId, projectId, now, 'egress', e, null));
}

/** The default group also lets in all traffic from its own members. */
function memberIngressRules(groupId: string, projectId: string, now: string): WireObject[] {
  return ETHERTYPES.map((e) => newRule(groupId, projectId, now, 'ingress', e, groupId));
}

/**
 * Removes a group with its rules and the rules of other groups that name it as their remote group (as
 * Neutron's cascade does); those groups change, so they move to a new revision.
 */
async function deleteSecurityGroup(tx: WriteTx, id: string, changeSecurityGroup: SecurityGroupResourceOptions['changeSecurityGroup']): Promise<void> {
  const rules = (await tx.db
    .selectFrom('security_group_rules')
    .selectAll()
    .where((eb) => eb.or([eb('security_group_id', '=', id), eb('remote_group_id', '=', id)]))
    .execute()) as Row[];
  await deleteRules(
    tx,
    rules.filter((r) => r.security_group_id === id),
  );
  const otherGroups = [...new Set(rules.map((r) => r.security_group_id as string).filter((g) => g !== id))].sort();
  for (const group of otherGroups) {
    await changeSecurityGroup(tx, group, () => deleteRules(tx, rules.filter((r) => r.security_group_id === group)));
  }
  await tx.db.deleteFrom('default_security_groups').where('security_group_id', '=', id).execute();
  await tx.db.deleteFrom('security_groups').where('id', '=', id).execute();
}
