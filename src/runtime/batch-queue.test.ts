import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BatchQueue } from './batch-queue.js';

it('runs what arrives during a batch together in the next one, and settles each item by its outcome', async () => {
  const batches: number[][] = [];
  let release!: () => void;
  const firstHeld = new Promise<void>((r) => (release = r));
  const queue = new BatchQueue<number>(async (items) => {
    batches.push(items);
    if (batches.length === 1) await firstHeld;
    return items.map((n) => (n === 4 ? new Error(`item ${n} failed`) : undefined));
  });
  const first = queue.submit(1);
  const rest = [2, 3, 4].map((n) => queue.submit(n));
  release();
  await first;
  const outcomes = await Promise.allSettled(rest);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected']);
  assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /item 4 failed/);
});

it('rejects every item of a batch whose apply throws, and goes on with the next batch', async () => {
  let calls = 0;
  const queue = new BatchQueue<string>(async (items) => {
    calls++;
    if (calls === 1) throw new Error('nft is missing');
    return items.map(() => undefined);
  });
  await assert.rejects(queue.submit('a'), /nft is missing/);
  await queue.submit('b');
  assert.equal(calls, 2);
});
