import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCatalog } from '../../../../src/server/identity/catalog.js';

test('the catalog lists each service on three interfaces with region and region_id', () => {
  const catalog = buildCatalog('http://10.0.0.1:9696/', 'RegionTwo');
  assert.deepEqual(
    catalog.map((s) => [s.type, s.endpoints[0].url]),
    [
      ['identity', 'http://10.0.0.1:9696/identity'],
      ['network', 'http://10.0.0.1:9696/network'],
      ['load-balancer', 'http://10.0.0.1:9696/load-balancer'],
      ['key-manager', 'http://10.0.0.1:9696/key-manager'],
    ],
  );
  for (const service of catalog) {
    assert.deepEqual(service.endpoints.map((e) => e.interface), ['public', 'internal', 'admin']);
    for (const e of service.endpoints) {
      assert.equal(e.region, 'RegionTwo');
      assert.equal(e.region_id, 'RegionTwo');
      assert.match(e.id, /^[0-9a-f]{32}$/);
    }
  }
  const ids = catalog.flatMap((s) => [s.id, ...s.endpoints.map((e) => e.id)]);
  assert.equal(new Set(ids).size, ids.length, 'ids are distinct');
});

test('the same configuration yields the same catalog; another URL other endpoint ids', () => {
  assert.deepEqual(buildCatalog('http://a:1', 'R'), buildCatalog('http://a:1', 'R'));
  assert.notEqual(buildCatalog('http://a:1', 'R')[1].endpoints[0].id, buildCatalog('http://b:1', 'R')[1].endpoints[0].id);
});
