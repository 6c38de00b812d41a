import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostName, interfaceNames, isRunId, namespaceNames, namespacePrefix, newRunId, vmNameProblem } from '../../../src/lab/names.js';

test('run ids are 6 lowercase letters or digits, and differ between runs', () => {
  const ids = new Set(Array.from({ length: 50 }, newRunId));
  for (const id of ids) assert.ok(isRunId(id), id);
  assert.ok(ids.size > 45);
  assert.throws(() => namespacePrefix('ABCDEF'), /6 lowercase/);
});

test('every namespace of a run carries its prefix', () => {
  const cases: [string, string][] = [
    [namespaceNames.fabric('a1b2c3'), 'cn-a1b2c3-fabric'],
    [namespaceNames.public('a1b2c3'), 'cn-a1b2c3-public'],
    [namespaceNames.host('a1b2c3', hostName(2)), 'cn-a1b2c3-host2'],
    [namespaceNames.vm('a1b2c3', 'web'), 'cn-a1b2c3-vm-web'],
  ];
  for (const [actual, expected] of cases) assert.equal(actual, expected);
});

test('interface names fit in 15 characters, tap names follow Nova', () => {
  assert.equal(interfaceNames.tap('3f2a9c1e-7b4d-4c2e-9a1b-0c3d5e7f9a2b'), 'tap3f2a9c1e-7b');
  assert.equal(interfaceNames.fabricUnderlayPort(hostName(200)), 'u-host200');
  assert.equal(interfaceNames.hostProvider('public'), 'phy-public');
  assert.throws(() => interfaceNames.hostProvider('a-very-long-physnet'), /longer than 15/);
});

test('host indexes are 1..200', () => {
  assert.equal(hostName(1), 'host1');
  for (const bad of [0, 201, 1.5]) assert.throws(() => hostName(bad), /host index/);
});

test('VM names', () => {
  const cases: [string, RegExp | undefined][] = [
    ['web', undefined],
    ['web-1', undefined],
    ['a', undefined],
    ['x'.repeat(32), undefined],
    ['x'.repeat(33), /1 to 32/],
    ['Web', /1 to 32/],
    ['-web', /1 to 32/],
    ['web-', /1 to 32/],
    ['web_1', /1 to 32/],
    ['', /1 to 32/],
    ['host1', /lab node/],
    ['public', /lab node/],
    ['fabric', /lab node/],
    ['hostess', undefined],
  ];
  for (const [name, problem] of cases) {
    const actual = vmNameProblem(name);
    if (problem) assert.match(actual ?? '', problem, name);
    else assert.equal(actual, undefined, name);
  }
});
