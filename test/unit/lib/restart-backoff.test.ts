import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRestart } from '../../../src/lib/restart-backoff.js';

test('restart backoff: doubles while a process dies soon after its start, capped, and resets once it ran a while', () => {
  const backoff = { minMs: 200, maxMs: 1000, resetMs: 10_000 };
  const cases: [string, number, number, { failures: number; delayMs: number }][] = [
    ['first crash', 0, 50, { failures: 1, delayMs: 200 }],
    ['second at once', 1, 50, { failures: 2, delayMs: 400 }],
    ['third at once', 2, 50, { failures: 3, delayMs: 800 }],
    ['capped', 5, 50, { failures: 6, delayMs: 1000 }],
    ['ran past the reset', 5, 10_001, { failures: 1, delayMs: 200 }],
    ['exactly the reset still counts as soon', 1, 10_000, { failures: 2, delayMs: 400 }],
  ];
  for (const [name, previous, ranMs, expected] of cases) assert.deepEqual(nextRestart(backoff, previous, ranMs), expected, name);
});
