import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartAdmission } from './start-admission.js';

it('runs at most `concurrency` starts at once and every queued start runs, in order', async () => {
  const admission = new StartAdmission(2);
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      admission.run(async () => {
        inside++;
        most = Math.max(most, inside);
        order.push(i);
        await sleep(2);
        inside--;
      }),
    ),
  );
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(admission.queued, 0);
});

it('a failed start frees its slot', async () => {
  const admission = new StartAdmission(1);
  await assert.rejects(admission.run(async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await admission.run(async () => 'next'), 'next');
});

it('refuses a concurrency that is not a whole number of at least one', () => {
  assert.throws(() => new StartAdmission(0), /start concurrency/);
});
