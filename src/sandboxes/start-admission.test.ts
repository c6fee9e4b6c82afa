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

it('a waiting background start goes after every waiting create, even one queued later', async () => {
  const admission = new StartAdmission(1);
  const order: string[] = [];
  const step = (name: string) => async () => {
    order.push(name);
    await sleep(2);
  };
  await Promise.all([
    admission.run(step('create 1')),
    admission.run(step('refill'), true),
    admission.run(step('create 2')),
    admission.run(step('create 3')),
  ]);
  assert.deepEqual(order, ['create 1', 'create 2', 'create 3', 'refill']);
  assert.equal(admission.queued, 0);
});
