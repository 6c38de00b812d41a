import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../../src/lib/errors.js';
import type { AuthContext } from '../../../../src/server/auth.js';
import type { WireObject } from '../../../../src/server/network/attributes.js';
import { defaultNetworkConfig } from '../../../../src/server/network/config.js';
import type { ResourceService } from '../../../../src/server/network/resource.js';
import { createNetworkServices } from '../../../../src/server/network/resources/index.js';
import { ensureDefaultSecurityGroup } from '../../../../src/server/network/resources/security-groups.js';
import { readChanges, currentRevision } from '../../../../src/store/changelog.js';
import { openDatabase } from '../../../../src/store/database.js';
import { Store } from '../../../../src/store/store.js';
import { DIALECTS, createTestDatabase } from '../../../support/databases.js';

const config = defaultNetworkConfig;

function caller(projectId: string, isAdmin = false): AuthContext {
  return {
    userId: `user-${projectId}`,
    userName: `user-${projectId}`,
    userDomainId: 'default',
    projectId,
    projectName: projectId,
    projectDomainId: 'default',
    roles: isAdmin ? ['admin', 'member', 'reader'] : ['member', 'reader'],
    isAdmin,
    expiresAt: '2099-01-01T00:00:00Z',
  };
}

const alice = caller('project-alice');
const bob = caller('project-bob');
const admin = caller('project-admin', true);

interface World {
  store: Store;
  groups: ResourceService;
  rules: ResourceService;
}

/** The real services over a fresh database of `dialect`, as the routes build them. */
async function withWorld(dialect: (typeof DIALECTS)[number], fn: (w: World) => Promise<void>): Promise<void> {
  const tdb = await createTestDatabase(dialect);
  const store = await Store.open(await openDatabase(tdb.url));
  const services = createNetworkServices(config, store);
  try {
    await fn({ store, groups: services.get('security_group')!, rules: services.get('security_group_rule')! });
  } finally {
    await store.close();
    await tdb.drop();
  }
}

async function rejectsNeutron(promise: Promise<unknown>, status: number, type: string, message?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.type, type);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

const listGroups = async (w: World, auth: AuthContext, params: Record<string, string> = {}) => (await w.groups.list(auth, params, 'http://x/v2.0/security-groups')).items;
const listRules = async (w: World, auth: AuthContext, params: Record<string, string> = {}) => (await w.rules.list(auth, params, 'http://x/v2.0/security-group-rules')).items;
const createGroup = async (w: World, auth: AuthContext, body: WireObject) => (await w.groups.create(auth, { security_group: body })).items[0];
const createRule = async (w: World, auth: AuthContext, body: WireObject) => (await w.rules.create(auth, { security_group_rule: body })).items[0];
const ruleShape = (r: WireObject) => `${String(r.direction)} ${String(r.ethertype)} ${r.remote_group_id ? 'self' : 'any'}`;

async function countRows(w: World, table: string): Promise<number> {
  const row = await w.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A port on a network of `projectId` that uses `groupId`; ports are another resource, so rows go in directly. */
async function insertPortUsing(w: World, projectId: string, groupId: string): Promise<string> {
  const now = '2026-01-01T00:00:00Z';
  const stamp = { created_at: now, updated_at: now, revision_number: 1 };
  const networkId = `net-${groupId}`;
  const portId = `port-${groupId}`;
  await w.store.db
    .insertInto('networks')
    .values({ id: networkId, project_id: projectId, name: '', description: '', admin_state_up: 1, status: 'ACTIVE', shared: 0, router_external: 0, mtu: 1450, port_security_enabled: 1, provider_network_type: 'vxlan', provider_segmentation_id: 5000, dns_domain: '', ...stamp })
    .execute();
  await w.store.db
    .insertInto('ports')
    .values({ id: portId, project_id: projectId, network_id: networkId, name: '', description: '', admin_state_up: 1, mac_address: 'fa:16:3e:00:00:01', device_id: '', device_owner: '', status: 'DOWN', port_security_enabled: 1, allowed_address_pairs: '[]', binding_host_id: '', binding_vnic_type: 'normal', binding_profile: '{}', binding_vif_type: 'unbound', binding_vif_details: '{}', dns_name: '', ...stamp })
    .execute();
  await w.store.db.insertInto('port_security_groups').values({ port_id: portId, security_group_id: groupId }).execute();
  return portId;
}

for (const dialect of DIALECTS) {
  describe(`security groups on ${dialect}`, () => {
    test('a project first listing its groups gets its default group, once, with the default rules and in the change log', () =>
      withWorld(dialect, async (w) => {
        const first = await listGroups(w, alice);
        assert.equal(first.length, 1);
        const group = first[0];
        assert.equal(group.name, 'default');
        assert.equal(group.description, 'Default security group');
        assert.equal(group.project_id, alice.projectId);
        assert.equal(group.tenant_id, alice.projectId);
        assert.equal(group.stateful, true);
        assert.deepEqual(group.tags, []);
        const rules = group.security_group_rules as WireObject[];
        assert.deepEqual(rules.map(ruleShape).sort(), ['egress IPv4 any', 'egress IPv6 any', 'ingress IPv4 self', 'ingress IPv6 self']);
        for (const r of rules) {
          assert.equal(r.security_group_id, group.id);
          assert.equal(r.remote_group_id === null || r.remote_group_id === group.id, true);
          assert.equal(r.protocol, null);
          assert.equal(r.remote_ip_prefix, null);
          assert.equal(r.project_id, alice.projectId);
          assert.equal('tags' in r, false, 'rules have no tags in Neutron');
        }

        const again = await listGroups(w, alice);
        assert.deepEqual(again.map((g) => g.id), [group.id]);
        // Another project's list makes only that project's default group.
        assert.equal((await listGroups(w, bob)).length, 1);
        assert.equal(await countRows(w, 'security_groups'), 2);

        const log = (await readChanges(w.store.db, 0, 100)).filter((c) => c.projectId === alice.projectId);
        assert.deepEqual(
          log.map((c) => `${c.resource} ${c.action}`),
          ['security_group_rule create', 'security_group_rule create', 'security_group_rule create', 'security_group_rule create', 'security_group create'],
        );
        assert.deepEqual((log[4].body as WireObject).security_group_rules, rules);
      }));

    test('listing rules, creating a group or a port makes the default group too', () =>
      withWorld(dialect, async (w) => {
        const rules = await listRules(w, alice);
        assert.equal(rules.length, 4);
        await createGroup(w, bob, { name: 'web' });
        assert.deepEqual((await listGroups(w, bob)).map((g) => g.name).sort(), ['default', 'web']);
        // What the ports code calls: the same group every time.
        const carol = 'project-carol';
        const id = await w.store.write((tx) => ensureDefaultSecurityGroup(tx, carol));
        assert.equal(await w.store.write((tx) => ensureDefaultSecurityGroup(tx, carol)), id);
        assert.deepEqual((await listGroups(w, caller(carol))).map((g) => g.id), [id]);
      }));

    test('a project cannot make another project default group by filtering for it; an admin can', () =>
      withWorld(dialect, async (w) => {
        assert.deepEqual(await listGroups(w, alice, { project_id: bob.projectId }), []);
        assert.equal(await countRows(w, 'security_groups'), 0);
        const forBob = await listGroups(w, admin, { project_id: bob.projectId });
        assert.deepEqual(forBob.map((g) => [g.name, g.project_id]), [['default', bob.projectId]]);
      }));

    test('concurrent first calls of one project create exactly one default group', () =>
      withWorld(dialect, async (w) => {
        const calls = Array.from({ length: 12 }, (_, i) =>
          i % 3 === 0 ? listGroups(w, alice) : i % 3 === 1 ? listRules(w, alice) : w.store.write((tx) => ensureDefaultSecurityGroup(tx, alice.projectId)),
        );
        await Promise.all(calls);
        const groups = await listGroups(w, alice);
        assert.equal(groups.length, 1);
        assert.equal(await countRows(w, 'default_security_groups'), 1);
        assert.equal(await countRows(w, 'security_group_rules'), 4);
        const creates = (await readChanges(w.store.db, 0, 100)).filter((c) => c.resource === 'security_group' && c.action === 'create');
        assert.equal(creates.length, 1);
      }));

    test('a new group has egress rules for both IP versions and may not be called default', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web', description: 'front ends' });
        assert.equal(web.name, 'web');
        assert.equal(web.description, 'front ends');
        assert.equal(web.stateful, true);
        assert.equal(web.revision_number, 1);
        assert.deepEqual((web.security_group_rules as WireObject[]).map(ruleShape).sort(), ['egress IPv4 any', 'egress IPv6 any']);
        const stateless = await createGroup(w, alice, { name: 'udp-only', stateful: false });
        assert.equal(stateless.stateful, false);
        for (const name of ['default', 'Default', 'DEFAULT']) {
          await rejectsNeutron(createGroup(w, alice, { name }), 409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
        }
        // Same names are allowed for other groups, as in Neutron.
        await createGroup(w, alice, { name: 'web' });
        assert.equal((await listGroups(w, alice, { name: 'web' })).length, 2);
        // Bulk create is all or nothing.
        const before = await countRows(w, 'security_groups');
        await rejectsNeutron(w.groups.create(alice, { security_groups: [{ name: 'a' }, { name: 'default' }] }), 409, 'SecurityGroupDefaultAlreadyExists');
        assert.equal(await countRows(w, 'security_groups'), before);
        const bulk = await w.groups.create(alice, { security_groups: [{ name: 'a' }, { name: 'b' }] });
        assert.deepEqual(bulk.items.map((g) => g.name), ['a', 'b']);
      }));

    test('the default group keeps its name; its description may change; no group may be renamed default', () =>
      withWorld(dialect, async (w) => {
        const [def] = await listGroups(w, alice);
        await rejectsNeutron(w.groups.update(alice, def.id as string, { security_group: { name: 'mine' } }, undefined), 409, 'SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
        await rejectsNeutron(w.groups.update(admin, def.id as string, { security_group: { name: 'mine' } }, undefined), 409, 'SecurityGroupCannotUpdateDefault');
        const updated = await w.groups.update(alice, def.id as string, { security_group: { description: 'ours' } }, undefined);
        assert.equal(updated.description, 'ours');
        assert.equal(updated.name, 'default');
        assert.equal(updated.revision_number, 2);
        const web = await createGroup(w, alice, { name: 'web' });
        await rejectsNeutron(w.groups.update(alice, web.id as string, { security_group: { name: 'default' } }, undefined), 409, 'SecurityGroupDefaultAlreadyExists');
        const renamed = await w.groups.update(alice, web.id as string, { security_group: { name: 'www', stateful: false } }, 'revision_number=1');
        assert.equal(renamed.name, 'www');
        assert.equal(renamed.stateful, false);
      }));

    test('only an admin deletes a default group, and the next need makes a new one', () =>
      withWorld(dialect, async (w) => {
        const [def] = await listGroups(w, alice);
        await rejectsNeutron(w.groups.delete(alice, def.id as string, undefined), 409, 'SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
        await w.groups.delete(admin, def.id as string, undefined);
        assert.equal(await countRows(w, 'security_group_rules'), 0);
        const [fresh] = await listGroups(w, alice);
        assert.equal(fresh.name, 'default');
        assert.notEqual(fresh.id, def.id);
      }));

    test('a group in use by a port cannot be deleted, nor its statefulness changed', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const id = web.id as string;
        const portId = await insertPortUsing(w, alice.projectId, id);
        const revision = await currentRevision(w.store.db);
        await rejectsNeutron(w.groups.delete(alice, id, undefined), 409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
        await rejectsNeutron(w.groups.update(alice, id, { security_group: { stateful: false } }, undefined), 409, 'SecurityGroupInUse');
        // Setting it to what it already is changes nothing that matters to the port.
        await w.groups.update(alice, id, { security_group: { stateful: true, name: 'web2' } }, undefined);
        assert.equal((await w.groups.show(alice, id, [])).name, 'web2');
        assert.equal(await currentRevision(w.store.db), revision + 1);
        await w.store.db.deleteFrom('port_security_groups').where('port_id', '=', portId).execute();
        await w.groups.delete(alice, id, undefined);
        await rejectsNeutron(w.groups.show(alice, id, []), 404, 'SecurityGroupNotFound', `Security group ${id} does not exist`);
      }));

    test('deleting a group deletes its rules and the rules naming it as remote group, and logs each', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const db = await createGroup(w, alice, { name: 'db' });
        const own = await createRule(w, alice, { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443 });
        const fromWeb = await createRule(w, alice, { security_group_id: db.id, direction: 'ingress', protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: web.id });
        const dbRevision = (await w.groups.show(alice, db.id as string, [])).revision_number as number;
        const since = await currentRevision(w.store.db);

        await w.groups.delete(alice, web.id as string, undefined);

        const remaining = (await listRules(w, alice, { security_group_id: db.id as string })).map((r) => r.id);
        assert.equal(remaining.includes(fromWeb.id), false);
        assert.equal(remaining.length, 2, 'db keeps its egress rules');
        await rejectsNeutron(w.rules.show(alice, own.id as string, []), 404, 'SecurityGroupRuleNotFound', `Security group rule ${String(own.id)} does not exist`);
        const dbAfter = await w.groups.show(alice, db.id as string, []);
        assert.equal(dbAfter.revision_number, dbRevision + 1);

        const log = await readChanges(w.store.db, since, 100);
        const deletedRules = log.filter((c) => c.resource === 'security_group_rule' && c.action === 'delete').map((c) => c.id);
        assert.deepEqual(new Set(deletedRules), new Set([own.id, fromWeb.id, ...(web.security_group_rules as WireObject[]).map((r) => r.id)]));
        assert.ok(log.some((c) => c.resource === 'security_group' && c.action === 'update' && c.id === db.id));
        assert.deepEqual(log.at(-1), { ...log.at(-1)!, resource: 'security_group', id: web.id, action: 'delete', body: null });
      }));

    test('a rule: created with canonical values, shown, listed, deleted; each change moves its group on', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const groupId = web.id as string;
        const since = await currentRevision(w.store.db);
        const rule = await createRule(w, alice, {
          security_group_id: groupId,
          direction: 'ingress',
          ethertype: 'ipv4',
          protocol: 'TCP',
          port_range_min: '8080',
          port_range_max: 8081,
          remote_ip_prefix: '192.168.1.7/24',
          description: 'proxy',
        });
        assert.deepEqual(
          {
            ethertype: rule.ethertype,
            protocol: rule.protocol,
            port_range_min: rule.port_range_min,
            port_range_max: rule.port_range_max,
            remote_ip_prefix: rule.remote_ip_prefix,
            normalized_cidr: rule.normalized_cidr,
            remote_group_id: rule.remote_group_id,
            remote_address_group_id: rule.remote_address_group_id,
            description: rule.description,
            project_id: rule.project_id,
            tenant_id: rule.tenant_id,
            revision_number: rule.revision_number,
          },
          {
            ethertype: 'IPv4',
            protocol: 'tcp',
            port_range_min: 8080,
            port_range_max: 8081,
            remote_ip_prefix: '192.168.1.7/24',
            normalized_cidr: '192.168.1.0/24',
            remote_group_id: null,
            remote_address_group_id: null,
            description: 'proxy',
            project_id: alice.projectId,
            tenant_id: alice.projectId,
            revision_number: 1,
          },
        );
        assert.equal('tags' in rule, false);
        assert.equal('name' in rule, false);
        assert.deepEqual(await w.rules.show(alice, rule.id as string, []), rule);
        const group = await w.groups.show(alice, groupId, []);
        assert.equal(group.revision_number, 2);
        assert.ok((group.security_group_rules as WireObject[]).some((r) => r.id === rule.id));

        const created = await readChanges(w.store.db, since, 100);
        assert.deepEqual(created.map((c) => `${c.resource} ${c.action}`), ['security_group update', 'security_group_rule create']);
        assert.equal((created[0].body as WireObject).revision_number, 2);

        assert.deepEqual((await listRules(w, alice, { protocol: 'tcp' })).map((r) => r.id), [rule.id]);

        await w.rules.delete(alice, rule.id as string, undefined);
        assert.equal((await w.groups.show(alice, groupId, [])).revision_number, 3);
        const deleted = await readChanges(w.store.db, since + 2, 100);
        assert.deepEqual(deleted.map((c) => `${c.resource} ${c.action} ${c.id}`), [`security_group update ${groupId}`, `security_group_rule delete ${String(rule.id)}`]);
        await rejectsNeutron(w.rules.update(alice, rule.id as string, { security_group_rule: { description: 'x' } }, undefined), 405, 'HTTPMethodNotAllowed');
      }));

    test('a rule that exists already is 409 naming it, however it is spelled; within one bulk request too', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const body = { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 66, port_range_max: 67 };
        const first = await createRule(w, alice, body);
        const exists = `Security group rule already exists. Rule id is ${String(first.id)}.`;
        await rejectsNeutron(createRule(w, alice, body), 409, 'SecurityGroupRuleExists', exists);
        await rejectsNeutron(createRule(w, alice, { ...body, protocol: '6', description: 'other words' }), 409, 'SecurityGroupRuleExists', exists);
        // The egress rules every group has: 0.0.0.0/0 is the same as no prefix.
        const egress = (web.security_group_rules as WireObject[]).find((r) => r.ethertype === 'IPv4')!;
        await rejectsNeutron(createRule(w, alice, { security_group_id: web.id, direction: 'egress', remote_ip_prefix: '0.0.0.0/0' }), 409, 'SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${String(egress.id)}.`);

        const rulesBefore = await countRows(w, 'security_group_rules');
        const revisionBefore = await currentRevision(w.store.db);
        const udp = { security_group_id: web.id, direction: 'ingress', protocol: 'udp', port_range_min: 53, port_range_max: 53 };
        await rejectsNeutron(w.rules.create(alice, { security_group_rules: [udp, { ...udp, protocol: '17' }] }), 409, 'DuplicateSecurityGroupRuleInPost');
        await rejectsNeutron(w.rules.create(alice, { security_group_rules: [udp, body] }), 409, 'SecurityGroupRuleExists');
        assert.equal(await countRows(w, 'security_group_rules'), rulesBefore);
        assert.equal(await currentRevision(w.store.db), revisionBefore);
        const bulk = await w.rules.create(alice, { security_group_rules: [udp, { ...udp, protocol: 'tcp' }] });
        assert.deepEqual(bulk.items.map((r) => r.protocol), ['udp', 'tcp']);
      }));

    test('concurrent creates of one rule store it once', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const body = { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 };
        // Alice and an admin: rules of two projects, so the per-project quota lock does not serialise them.
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => createRule(w, i % 2 ? admin : alice, body)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') assert.equal((r.reason as ApiError).type, 'SecurityGroupRuleExists');
        }
        assert.equal((await listRules(w, alice, { security_group_id: web.id as string, protocol: 'tcp' })).length, 1);
        assert.equal((await w.groups.show(alice, web.id as string, [])).revision_number, 2);
      }));

    test('remote group or prefix, never both; the remote group and the group must be the caller’s', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const other = await createGroup(w, alice, { name: 'other' });
        const bobs = await createGroup(w, bob, { name: 'bobs' });
        const base = { security_group_id: web.id, direction: 'ingress', protocol: 'tcp' };
        await rejectsNeutron(
          createRule(w, alice, { ...base, remote_ip_prefix: '10.0.0.0/24', remote_group_id: other.id }),
          400,
          'SecurityGroupMultipleRemoteEntites',
          'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
        );
        await rejectsNeutron(createRule(w, alice, { ...base, ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/24' }), 400, 'SecurityGroupRuleParameterConflict', 'Conflicting value ethertype IPv6 for CIDR 10.0.0.0/24');
        for (const missing of ['bad_group_id', '8e9a5c0a-6c39-4cbb-b3b4-bb0e52ae3a52', bobs.id as string]) {
          await rejectsNeutron(createRule(w, alice, { ...base, remote_group_id: missing }), 404, 'SecurityGroupNotFound', `Security group ${missing} does not exist`);
          await rejectsNeutron(createRule(w, alice, { ...base, security_group_id: missing }), 404, 'SecurityGroupNotFound', `Security group ${missing} does not exist`);
        }
        const fromOther = await createRule(w, alice, { ...base, remote_group_id: other.id });
        assert.equal(fromOther.remote_group_id, other.id);
        assert.equal(fromOther.remote_ip_prefix, null);
        await rejectsNeutron(createRule(w, alice, { ...base, protocol: 'udp', remote_address_group_id: 'ag' }), 400, 'HTTPBadRequest');
        // An admin may put a rule in anyone's group, naming anyone's group.
        const adminRule = await createRule(w, admin, { ...base, security_group_id: bobs.id, remote_group_id: web.id });
        assert.equal(adminRule.project_id, admin.projectId);
      }));

    test('bad input is a 400 naming the field and changes nothing', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const rules = await countRows(w, 'security_group_rules');
        const revision = await currentRevision(w.store.db);
        const base = { security_group_id: web.id, direction: 'ingress' };
        const cases: [WireObject, string, string][] = [
          [{ ...base, direction: 'sideways' }, 'HTTPBadRequest', 'direction'],
          [{ security_group_id: web.id }, 'HTTPBadRequest', 'direction'],
          [{ direction: 'ingress' }, 'HTTPBadRequest', 'security_group_id'],
          [{ ...base, ethertype: 'IPv5' }, 'SecurityGroupRuleInvalidEtherType', 'ethertype'],
          [{ ...base, protocol: 'bad_protocol_name' }, 'SecurityGroupRuleInvalidProtocol', 'protocol'],
          [{ ...base, protocol: 'tcp', port_range_min: -16, port_range_max: 80 }, 'SecurityGroupInvalidPortValue', 'port'],
          [{ ...base, protocol: 'tcp', port_range_min: 80, port_range_max: 79 }, 'SecurityGroupInvalidPortRange', 'port_range_min'],
          [{ ...base, protocol: 'icmp', port_range_min: 300, port_range_max: 1 }, 'SecurityGroupInvalidIcmpValue', 'port_range_min'],
          [{ ...base, remote_ip_prefix: 'bad_prefix' }, 'InvalidCIDR', 'IP prefix'],
          [{ ...base, remote_address_group_id: 'x' }, 'HTTPBadRequest', 'remote_address_group_id'],
          [{ ...base, name: 'rules have no name' }, 'HTTPBadRequest', 'name'],
          [{ ...base, id: 'mine' }, 'HTTPBadRequest', 'id'],
        ];
        for (const [body, type, names] of cases) {
          await assert.rejects(createRule(w, alice, body), (err: unknown) => {
            assert.ok(err instanceof ApiError);
            assert.equal(err.status, 400, `${JSON.stringify(body)}: ${err.message}`);
            assert.equal(err.type, type, JSON.stringify(body));
            assert.ok(err.message.includes(names), `'${err.message}' should name ${names}`);
            return true;
          });
        }
        await rejectsNeutron(createGroup(w, alice, { name: 'x'.repeat(256) }), 400, 'HTTPBadRequest');
        await rejectsNeutron(createGroup(w, alice, { stateful: 'perhaps' }), 400, 'HTTPBadRequest');
        assert.equal(await countRows(w, 'security_group_rules'), rules);
        assert.equal(await currentRevision(w.store.db), revision);
      }));

    test('tenancy: a project sees its own groups and the rules of its groups; another project sees neither', () =>
      withWorld(dialect, async (w) => {
        const web = await createGroup(w, alice, { name: 'web' });
        const groupId = web.id as string;
        const mine = await createRule(w, alice, { security_group_id: groupId, direction: 'ingress', protocol: 'tcp' });
        // An admin adds a rule (owned by the admin's project) to alice's group: alice sees it but may not delete it.
        const admins = await createRule(w, admin, { security_group_id: groupId, direction: 'ingress', protocol: 'udp' });
        const adminGroup = await createGroup(w, admin, { name: 'admin-only' });
        const adminOnly = await createRule(w, admin, { security_group_id: adminGroup.id, direction: 'ingress', protocol: 'udp' });

        const aliceRules = (await listRules(w, alice)).map((r) => r.id);
        assert.ok(aliceRules.includes(mine.id) && aliceRules.includes(admins.id));
        assert.equal(aliceRules.includes(adminOnly.id), false);
        assert.ok(((await w.groups.show(alice, groupId, [])).security_group_rules as WireObject[]).some((r) => r.id === admins.id));
        await rejectsNeutron(w.rules.delete(alice, admins.id as string, undefined), 403, 'HTTPForbidden');

        await rejectsNeutron(w.groups.show(bob, groupId, []), 404, 'SecurityGroupNotFound');
        await rejectsNeutron(w.groups.update(bob, groupId, { security_group: { description: 'mine now' } }, undefined), 404, 'SecurityGroupNotFound');
        await rejectsNeutron(w.groups.delete(bob, groupId, undefined), 404, 'SecurityGroupNotFound');
        await rejectsNeutron(w.rules.show(bob, mine.id as string, []), 404, 'SecurityGroupRuleNotFound');
        await rejectsNeutron(w.rules.delete(bob, mine.id as string, undefined), 404, 'SecurityGroupRuleNotFound');
        assert.deepEqual((await listGroups(w, bob)).map((g) => g.name), ['default']);
        const bobRules = await listRules(w, bob);
        assert.ok(bobRules.every((r) => r.project_id === bob.projectId));

        const all = (await listGroups(w, admin)).map((g) => g.id);
        assert.ok(all.includes(groupId) && all.includes(adminGroup.id));
        assert.ok((await listRules(w, admin)).some((r) => r.id === mine.id));
        await w.rules.delete(admin, mine.id as string, undefined);
      }));

    test('a group brings its egress rules within the rule quota', () =>
      withWorld(dialect, async (w) => {
        await listGroups(w, alice);
        await w.store.db.insertInto('quotas').values({ project_id: alice.projectId, resource: 'security_group_rule', quota_limit: 5 }).execute();
        await rejectsNeutron(createGroup(w, alice, { name: 'web' }), 409, 'OverQuota', "Quota exceeded for resources: ['security_group_rule'].");
        await w.store.db.updateTable('quotas').set({ quota_limit: 7 }).where('project_id', '=', alice.projectId).execute();
        const web = await createGroup(w, alice, { name: 'web' });
        await createRule(w, alice, { security_group_id: web.id, direction: 'ingress', protocol: 'tcp' });
        await rejectsNeutron(createRule(w, alice, { security_group_id: web.id, direction: 'ingress', protocol: 'udp' }), 409, 'OverQuota');
      }));
  });
}
