import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environmentWithCredentials, seconds } from '../../../src/cli/agent-options.js';

test('credential flags override the OS_* variables they name; others are kept', () => {
  const env = { OS_AUTH_URL: 'http://env/identity/v3', OS_USERNAME: 'env-user', OS_PASSWORD: 'env-pw', PATH: '/bin' };
  const cases: [Parameters<typeof environmentWithCredentials>[0], Record<string, string>][] = [
    [{}, env],
    [{ 'os-username': 'flag-user' }, { ...env, OS_USERNAME: 'flag-user' }],
    [
      { 'os-auth-url': 'http://flag/identity/v3', 'os-project-name': 'p', 'os-user-domain-name': 'ud', 'os-project-domain-name': 'pd', 'os-password': 'pw' },
      { ...env, OS_AUTH_URL: 'http://flag/identity/v3', OS_PROJECT_NAME: 'p', OS_USER_DOMAIN_NAME: 'ud', OS_PROJECT_DOMAIN_NAME: 'pd', OS_PASSWORD: 'pw' },
    ],
  ];
  for (const [flags, expected] of cases) assert.deepEqual(environmentWithCredentials(flags, env), expected);
  assert.equal(env.OS_USERNAME, 'env-user', 'the given environment is not changed');
});

test('durations are positive seconds, returned in milliseconds', () => {
  assert.equal(seconds('1', '--x'), 1000);
  assert.equal(seconds('0.2', '--x'), 200);
  for (const bad of ['0', '-1', 'soon', '']) assert.throws(() => seconds(bad, '--health-interval'), /--health-interval must be a positive number of seconds/);
});
