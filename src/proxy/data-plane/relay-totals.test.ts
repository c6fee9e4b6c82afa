import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RelayTotals } from './relay-totals.js';

it('keeps counting across an HAProxy restart, whose counters start again from zero', () => {
  const totals = new RelayTotals();
  assert.deepEqual(totals.update(10, { opened: 5, open: 2, toSandbox: 100, fromSandbox: 1000 }), { opened: 5, open: 2, toSandbox: 100, fromSandbox: 1000 });
  assert.deepEqual(totals.update(10, { opened: 7, open: 1, toSandbox: 150, fromSandbox: 1500 }), { opened: 7, open: 1, toSandbox: 150, fromSandbox: 1500 });
  // Restarted (another pid): its own counters begin again.
  assert.deepEqual(totals.update(11, { opened: 1, open: 1, toSandbox: 10, fromSandbox: 20 }), { opened: 8, open: 1, toSandbox: 160, fromSandbox: 1520 });
  assert.deepEqual(totals.update(11, { opened: 3, open: 0, toSandbox: 30, fromSandbox: 60 }), { opened: 10, open: 0, toSandbox: 180, fromSandbox: 1560 });
});
