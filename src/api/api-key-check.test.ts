import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { SandcastleError } from '../errors.js';
import { ApiKeyStore } from '../store/api-key-store.js';
import { openDatabase } from '../store/database.js';
import { apiKeyCheck } from './api-key-check.js';

function appWith(keys: ApiKeyStore): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ code: (err as SandcastleError).status }, (err as SandcastleError).status as 401));
  app.use('*', apiKeyCheck(keys));
  app.get('/x', (c) => c.text('ok'));
  return app;
}

test('a request passes with a key of the store, as X-API-KEY or a bearer token, and not otherwise', async () => {
  const keys = new ApiKeyStore(openDatabase(':memory:'));
  const { key, record } = keys.create('t');
  const app = appWith(keys);
  assert.equal((await app.request('/x', { headers: { 'X-API-KEY': key } })).status, 200);
  assert.equal((await app.request('/x', { headers: { Authorization: `Bearer ${key}` } })).status, 200);
  assert.equal((await app.request('/x')).status, 401);
  assert.equal((await app.request('/x', { headers: { 'X-API-KEY': `${key}0` } })).status, 401);
  assert.equal(keys.delete(record.id), true);
  assert.equal((await app.request('/x', { headers: { 'X-API-KEY': key } })).status, 401);
  assert.equal(keys.count(), 0);
});
