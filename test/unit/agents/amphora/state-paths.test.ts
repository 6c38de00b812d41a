import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXY_SOCKET_PATH_MAX, statePaths } from '../../../../src/agents/amphora/reconciler.js';

// HAProxy 2.6 refuses a socket path over 97 bytes at every start ("too long (max 97)"), so a state directory that
// long would leave an amphora whose HAProxy never runs; the agent (and the lab, which picks the directory) say so first.
const SOCKET = '/haproxy-master.sock';

test('a state directory whose master socket path fits HAProxy is accepted', () => {
  const dir = '/' + 'd'.repeat(HAPROXY_SOCKET_PATH_MAX - SOCKET.length - 1);
  assert.equal(statePaths(dir).masterSocket.length, HAPROXY_SOCKET_PATH_MAX);
});

test('one byte longer is refused with the reason, as the lab tests\' amphora directories were', () => {
  const dir = '/' + 'd'.repeat(HAPROXY_SOCKET_PATH_MAX - SOCKET.length);
  assert.throws(() => statePaths(dir), /too long: HAProxy binds no socket path longer than 97 bytes/);
  const labDir = '/tmp/cloudnet-lb-acceptance-NP6Ne0/amphorae/441f3b2b-0902-4608-a667-6fb367d28164';
  assert.throws(() => statePaths(labDir), /too long/);
});
