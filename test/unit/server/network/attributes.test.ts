import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memberBody, prepareCreate, prepareUpdate, present } from '../../../../src/server/network/attributes.js';
import { networkSpec } from '../../../../src/server/network/resources/networks.js';
import { subnetSpec } from '../../../../src/server/network/resources/subnets.js';
import { portSpec } from '../../../../src/server/network/resources/ports.js';
import { ApiError } from '../../../../src/lib/errors.js';
import type { AuthContext } from '../../../../src/server/auth.js';

const member: AuthContext = {
  userId: 'u',
  userName: 'alice',
  userDomainId: 'default',
  projectId: 'p1',
  projectName: 'one',
  projectDomainId: 'default',
  roles: ['member'],
  isAdmin: false,
  expiresAt: '2099-01-01T00:00:00Z',
};
const admin: AuthContext = { ...member, roles: ['admin'], isAdmin: true };

const fails = (fn: () => unknown, status: number, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.status === status && message.test(e.message));

test('create fills defaults and the owner', () => {
  const n = prepareCreate(networkSpec, { name: 'net' }, member);
  assert.equal(n.project_id, 'p1');
  assert.equal(n.admin_state_up, true);
  assert.equal(n.shared, false);
  assert.equal(n.description, '');
  assert.equal('tenant_id' in n, false);
});

test('create refuses what Neutron refuses', () => {
  fails(() => prepareCreate(networkSpec, { bogus: 1 }, member), 400, /^Unrecognized attribute\(s\) 'bogus'$/);
  fails(() => prepareCreate(networkSpec, { status: 'ACTIVE' }, member), 400, /^Attribute 'status' not allowed in POST$/);
  fails(() => prepareCreate(networkSpec, { name: 5 }, member), 400, /Invalid input for name. Reason: '5' is not a valid string/);
  fails(() => prepareCreate(networkSpec, { admin_state_up: 'perhaps' }, member), 400, /cannot be converted to boolean/);
  fails(() => prepareCreate(networkSpec, { tenant_id: 'p2' }, member), 400, /requires admin/);
  fails(() => prepareCreate(networkSpec, { tenant_id: 'p2', project_id: 'p3' }, admin), 400, /do not match/);
  fails(() => prepareCreate(networkSpec, { 'provider:network_type': 'vxlan' }, member), 403, /disallowed by policy/);
  fails(() => prepareCreate(subnetSpec, { ip_version: 4, cidr: '198.18.0.0/24' }, member), 400, /Required attribute 'network_id' not specified/);
  fails(() => prepareCreate(subnetSpec, { network_id: 'x', ip_version: 4, cidr: '198.18.0.0/24' }, member), 400, /'x' is not a valid UUID/);
  fails(
    () => prepareCreate(subnetSpec, { network_id: '6e2f5b0c-3f5e-4c2a-9e57-0d1f2e3a4b5c', ip_version: 5, cidr: '198.18.0.0/24' }, member),
    400,
    /Invalid input for ip_version/,
  );
  fails(
    () => prepareCreate(subnetSpec, { network_id: '6e2f5b0c-3f5e-4c2a-9e57-0d1f2e3a4b5c', ip_version: 4, cidr: '198.18.0.5/24' }, member),
    400,
    /'198.18.0.0\/24' is recommended/,
  );
  fails(
    () => prepareCreate(subnetSpec, { network_id: '6e2f5b0c-3f5e-4c2a-9e57-0d1f2e3a4b5c', ip_version: 4, cidr: '198.18.0.0/24', dns_nameservers: ['1.1.1.1', '1.1.1.1'] }, member),
    400,
    /Duplicate nameserver '1.1.1.1'/,
  );
});

test('allowed address pairs take single addresses and whole CIDRs', () => {
  const p = prepareCreate(
    portSpec,
    { network_id: '6e2f5b0c-3f5e-4c2a-9e57-0d1f2e3a4b5c', allowed_address_pairs: [{ ip_address: '198.18.64.0/18' }, { ip_address: '198.18.0.9', mac_address: 'FA:16:3E:00:00:01' }] },
    member,
  );
  assert.deepEqual(p.allowed_address_pairs, [{ ip_address: '198.18.64.0/18' }, { ip_address: '198.18.0.9', mac_address: 'fa:16:3e:00:00:01' }]);
  fails(
    () => prepareCreate(portSpec, { network_id: '6e2f5b0c-3f5e-4c2a-9e57-0d1f2e3a4b5c', allowed_address_pairs: [{ mac_address: 'fa:16:3e:00:00:01' }] }, member),
    400,
    /Expected keys/,
  );
});

test('update takes only what PUT allows', () => {
  assert.deepEqual(prepareUpdate(networkSpec, { name: 'x', mtu: '1400' }, member), { name: 'x', mtu: 1400 });
  fails(() => prepareUpdate(networkSpec, { status: 'DOWN' }, member), 400, /^Cannot update read-only attribute status$/);
  fails(() => prepareUpdate(subnetSpec, { cidr: '198.18.0.0/24' }, member), 400, /read-only attribute cidr/);
});

test('body wrapping and presentation', () => {
  fails(() => memberBody(networkSpec, { net: {} }), 400, /Unable to find 'network' in request body/);
  fails(() => memberBody(networkSpec, []), 400, /Body contains invalid data/);
  const object = { id: 'n', name: 'x', 'provider:network_type': 'vxlan', mtu: 1450 };
  assert.deepEqual(present(networkSpec, object, member, []), { id: 'n', name: 'x', mtu: 1450 });
  assert.deepEqual(present(networkSpec, object, admin, ['provider:network_type']), { 'provider:network_type': 'vxlan' });
});
