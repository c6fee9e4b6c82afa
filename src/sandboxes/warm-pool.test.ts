import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { TemplateRecord } from '../store/template-store.js';
import pino from 'pino';
import { WarmPool } from './warm-pool.js';

const log = pino({ level: 'silent' });

const template = { id: 'base' } as TemplateRecord;

test('the warm pool fills to its size, refills behind a take, and stops at close', async () => {
  let started = 0;
  const pool = new WarmPool(2, async () => ({ id: `s${++started}` }) as SandboxRecord, log);
  assert.equal(pool.take(template), undefined);
  pool.fill(template);
  await pool.settled();
  assert.equal(started, 2);
  assert.equal(pool.take(template)?.id, 's1');
  await pool.settled();
  assert.equal(started, 3);
  await pool.close();
  assert.equal(pool.take(template), undefined);
  pool.fill(template);
  await pool.settled();
  assert.equal(started, 3);
});

test('a start that fails leaves the pool short, not broken', async () => {
  let calls = 0;
  const pool = new WarmPool(1, async () => {
    if (++calls === 1) throw new Error('no room');
    return { id: 'late' } as SandboxRecord;
  }, log);
  pool.fill(template);
  await pool.settled();
  assert.equal(pool.take(template), undefined);
  pool.fill(template);
  await pool.settled();
  assert.equal(pool.take(template)?.id, 'late');
});

test('a pool of size 0 starts nothing', async () => {
  let started = 0;
  const pool = new WarmPool(0, async () => ({ id: `s${++started}` }) as SandboxRecord, log);
  pool.fill(template);
  await pool.settled();
  assert.equal(started, 0);
});

test('a drain takes out the sandboxes its test does not keep; the kept ones stay to be taken', async () => {
  let started = 0;
  const pool = new WarmPool(3, async () => ({ id: `s${++started}` }) as SandboxRecord, log);
  pool.fill(template);
  const drained = await pool.drain('base', (rec) => rec.id !== 's2');
  assert.deepEqual(drained.map((r) => r.id), ['s2']);
  assert.equal(pool.take(template)?.id, 's1');
  assert.equal(pool.take(template)?.id, 's3');
  assert.deepEqual((await pool.drain('base')).map((r) => r.id), ['s4', 's5', 's6']);
  assert.equal(pool.take(template), undefined);
  await pool.close();
});
