import { ApiError } from '../../../lib/errors.js';
import type { WriteTx } from '../../../store/store.js';
import type { AuthContext } from '../../auth.js';
import type { WireObject } from '../attributes.js';
import type { Resource } from '../resource.js';
import type { Row } from '../repository.js';
import { canonicalRule, checkRuleBatch, normalizedCidr, ruleKey, type RuleMatch } from '../security-group-rule-rules.js';
import {
  groupVisibleTo,
  insertRule,
  ruleObject,
  securityGroupNotFound,
  securityGroupRuleSpec,
} from './security-group-data.js';
import { ensureDefaultSecurityGroupBeforeList } from './security-groups.js';

type RuleValues = WireObject & RuleMatch & { security_group_id: string; project_id: string };

export interface SecurityGroupRuleResourceOptions {
  /**
   * Runs a rule write as a change of its group (new revision, before and after states logged): agents
   * enforce groups, not single rules.
   */
  changeSecurityGroup(tx: WriteTx, id: string, write: () => Promise<void>): Promise<void>;
}

export function createSecurityGroupRuleResource({ changeSecurityGroup }: SecurityGroupRuleResourceOptions): Resource {
  return {
    spec: securityGroupRuleSpec,
    // A project sees its own rules and every rule of its own groups, whoever made them.
    visibleTo: (auth) =>
      auth.isAdmin
        ? undefined
        : (eb) =>
            eb.or([
              eb('security_group_rules.project_id', '=', auth.projectId),
              eb('security_group_rules.security_group_id', 'in', eb.selectFrom('security_groups').select('security_groups.id').where('security_groups.project_id', '=', auth.projectId)),
            ]),
    // Only the rule's own project deletes it, even from a group it owns (Neutron's policy).
    canModify: (rule, auth) => auth.isAdmin || rule.project_id === auth.projectId,
    immutable: true,
    async hydrate(_db, rules) {
      for (const rule of rules) rule.normalized_cidr = normalizedCidr(rule.remote_ip_prefix as string | null);
    },
    prepareBatch(items) {
      const rules = items.map((item) => canonicalRule(item as RuleValues));
      checkRuleBatch(rules);
      return rules;
    },
    prepareList: ensureDefaultSecurityGroupBeforeList,
    async create(tx, values, auth) {
      const rule = values as RuleValues;
      // Locking the group serialises its rule creates (so two equal rules cannot both pass the duplicate
      // check) and holds off its deletion until this rule is in; a share lock does the latter for the
      // remote group. The group is locked first, so that creates naming each other's groups cannot deadlock.
      const group = await lockGroup(tx, rule.security_group_id, auth, 'update');
      const remote = rule.remote_group_id;
      if (remote !== null && remote !== rule.security_group_id && !(await lockGroup(tx, remote, auth, 'share'))) throw securityGroupNotFound(remote);
      if (!group) throw securityGroupNotFound(rule.security_group_id);
      const existing = (await tx.db.selectFrom('security_group_rules').selectAll().where('security_group_id', '=', rule.security_group_id).execute()) as Row[];
      const key = ruleKey(rule);
      const same = existing.map(ruleObject).find((r) => ruleKey(r as RuleValues) === key);
      if (same) throw new ApiError(409, 'SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${String(same.id)}.`);
      await changeSecurityGroup(tx, rule.security_group_id, () => insertRule(tx, rule));
    },
    async delete(tx, current) {
      await changeSecurityGroup(tx, current.security_group_id as string, async () => {
        await tx.db.deleteFrom('security_group_rules').where('id', '=', current.id as string).execute();
      });
    },
  };
}

/** A group the caller may put in a rule (its project's own; an admin: any), locked until the end of the write. */
async function lockGroup(tx: WriteTx, id: string, auth: AuthContext, mode: 'update' | 'share'): Promise<Row | undefined> {
  let q = tx.db.selectFrom('security_groups').selectAll().where('id', '=', id);
  const visible = groupVisibleTo(auth);
  if (visible) q = q.where(visible);
  if (tx.dialect === 'postgres') q = mode === 'update' ? q.forUpdate() : q.forShare();
  return (await q.executeTakeFirst()) as Row | undefined;
}
