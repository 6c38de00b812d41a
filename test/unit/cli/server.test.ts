import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminPasswordFile, defaultPublicUrl, parseListen } from '../../../src/cli/server.js';

for (const [input, expected] of [
  ['127.0.0.1:9696', { host: '127.0.0.1', port: 9696 }],
  [':8080', { host: '0.0.0.0', port: 8080 }],
  ['[::1]:9696', { host: '::1', port: 9696 }],
  ['localhost:0', { host: 'localhost', port: 0 }],
] as const) {
  test(`parseListen(${input})`, () => assert.deepEqual(parseListen(input), expected));
}

for (const bad of ['9696', 'host:', 'host:99999', '::1:80', 'a:b']) {
  test(`parseListen rejects ${bad}`, () => assert.throws(() => parseListen(bad), /--listen must be HOST:PORT/));
}

for (const [listen, url] of [
  [{ host: '127.0.0.1', port: 9696 }, 'http://127.0.0.1:9696'],
  [{ host: '0.0.0.0', port: 1 }, 'http://127.0.0.1:1'],
  [{ host: '::', port: 2 }, 'http://[::1]:2'],
  [{ host: 'fd00::5', port: 3 }, 'http://[fd00::5]:3'],
] as const) {
  test(`defaultPublicUrl(${listen.host})`, () => assert.equal(defaultPublicUrl(listen), url));
}

test('the generated admin password lives beside the SQLite file, or in ./data for PostgreSQL', () => {
  assert.equal(adminPasswordFile('sqlite:/var/lib/cloudnet/c.db'), '/var/lib/cloudnet/admin-password');
  assert.equal(adminPasswordFile('sqlite:///var/lib/x.db'), '/var/lib/admin-password');
  assert.equal(adminPasswordFile('sqlite:./data/cloudnet.db'), `${process.cwd()}/data/admin-password`);
  assert.equal(adminPasswordFile('postgres://u@h/db'), `${process.cwd()}/data/admin-password`);
});
