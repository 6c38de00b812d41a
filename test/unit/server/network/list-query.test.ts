import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListQuery } from '../../../../src/server/network/list-query.js';
import { networkSpec } from '../../../../src/server/network/resources/networks.js';
import { ApiError } from '../../../../src/lib/errors.js';

const rejects = (params: Record<string, string | string[]>, message: RegExp) =>
  assert.throws(
    () => parseListQuery(networkSpec, params),
    (e: unknown) => e instanceof ApiError && e.status === 400 && message.test(e.message),
  );

test('filters convert to stored form and repeat', () => {
  const q = parseListQuery(networkSpec, { name: ['a', 'b'], shared: 'True', mtu: '1450', tenant_id: 'p1' });
  assert.deepEqual(q.filters.get('name'), ['a', 'b']);
  assert.deepEqual(q.filters.get('shared'), [1]);
  assert.deepEqual(q.filters.get('mtu'), [1450]);
  assert.deepEqual(q.filters.get('project_id'), ['p1']);
});

test('sorting, paging, fields and tags', () => {
  const q = parseListQuery(networkSpec, {
    sort_key: ['name', 'id'],
    sort_dir: ['desc', 'asc'],
    limit: '10',
    marker: 'm',
    page_reverse: 'True',
    fields: ['id', 'name'],
    tags: 'a,b',
    'not-tags-any': 'c',
  });
  assert.deepEqual(q.sort, [
    { attribute: 'name', ascending: false },
    { attribute: 'id', ascending: true },
  ]);
  assert.equal(q.limit, 10);
  assert.equal(q.marker, 'm');
  assert.equal(q.pageReverse, true);
  assert.deepEqual(q.fields, ['id', 'name']);
  assert.deepEqual(q.tags.all, ['a', 'b']);
  assert.deepEqual(q.tags.notAny, ['c']);
  assert.equal(parseListQuery(networkSpec, { limit: '0' }).limit, undefined);
});

test("bad queries are 400 with Neutron's messages", () => {
  rejects({ bogus: 'x' }, /^\['bogus'\] is invalid attribute for filtering$/);
  rejects({ subnets: 'x' }, /invalid attribute for filtering/);
  rejects({ sort_key: 'name' }, /number of sort_keys and sort_dirs must be same/);
  rejects({ sort_key: 'shared', sort_dir: 'asc' }, /\['shared'\] is invalid attribute for sort_keys/);
  rejects({ sort_key: 'name', sort_dir: 'up' }, /\['up'\] is invalid value for sort_dirs/);
  rejects({ limit: '-1' }, /Limit must be an integer 0 or greater and not '-1'/);
  rejects({ shared: 'maybe' }, /Invalid input for shared/);
});
