import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkRange } from './network-lease.js';

test('a lease is the block at its index: host end .1, sandbox end .2 of a /30', () => {
  const range = new NetworkRange('10.11.0.0/16');
  assert.deepEqual(range.lease(3), { index: 3, hostAddress: '10.11.0.13', sandboxAddress: '10.11.0.14', prefixLength: 30 });
  assert.equal(range.network(3), '10.11.0.12/30');
  assert.throws(() => range.lease(range.size), /outside the range/);
});

test('pick takes the next block neither leased nor routed by the host, wrapping around', () => {
  const range = new NetworkRange('10.11.0.0/28');
  assert.equal(range.size, 4);
  assert.equal(range.pick(new Set([2]), 2, new Set()), 3);
  assert.equal(range.pick(new Set([3]), 3, new Set(['10.11.0.0/30'])), 1);
  assert.equal(range.pick(new Set([0, 1, 2, 3]), 0, new Set()), undefined);
  assert.equal(range.pick(new Set([0, 1]), 0, new Set(['10.11.0.8/30', '10.11.0.12/30'])), undefined);
});
