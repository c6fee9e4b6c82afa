import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../store/database.js';
import { PublicAccessStore } from '../store/public-access-store.js';
import { PublicAccess } from './public-access.js';

function access(): PublicAccess {
  const db = openDatabase(':memory:');
  // The table references sandboxes; these rows stand for three of them.
  db.pragma('foreign_keys = OFF');
  return new PublicAccess(new PublicAccessStore(db));
}

test('allowPublicTraffic false: a token for every port but envd, checked exactly', () => {
  const a = access();
  const token = a.configure('s1', { allowPublicTraffic: false });
  assert.ok(token && token.length >= 32);
  assert.equal(a.tokenOf('s1'), token);
  assert.ok(a.restricted('s1'));
  assert.match(a.refusal('s1', 3000, undefined)!.message, /is missing/);
  assert.equal(a.refusal('s1', 3000, undefined)!.status, 403);
  assert.match(a.refusal('s1', 3000, 'nope')!.message, /is invalid/);
  assert.match(a.refusal('s1', 3000, `${token}x`)!.message, /is invalid/);
  assert.equal(a.refusal('s1', 3000, token!), undefined);
  assert.equal(a.refusal('s1', 3000, [token!, 'other']), undefined);
  assert.equal(a.refusal('s1', 49983, undefined), undefined);
  assert.deepEqual(a.networkInfo('s1'), { allowPublicTraffic: false });
});

test('public sandboxes have no row, no token and pass everything; a mask alone is kept', () => {
  const a = access();
  assert.equal(a.configure('s1', { allowPublicTraffic: true }), null);
  assert.equal(a.configure('s2', undefined), null);
  for (const id of ['s1', 's2']) {
    assert.equal(a.restricted(id), false);
    assert.equal(a.refusal(id, 3000, undefined), undefined);
    assert.equal(a.networkInfo(id), undefined);
  }
  assert.equal(a.configure('s3', { maskRequestHost: 'localhost:${PORT}' }), null);
  assert.ok(a.restricted('s3'));
  assert.equal(a.refusal('s3', 3000, undefined), undefined);
  assert.equal(a.maskedHost('s3', 3000), 'localhost:3000');
  assert.equal(a.maskedHost('s1', 3000), undefined);
  assert.deepEqual(a.networkInfo('s3'), { allowPublicTraffic: true, maskRequestHost: 'localhost:${PORT}' });
});

test('forks and clones inherit the policy with a token of their own', () => {
  const a = access();
  const token = a.configure('src', { allowPublicTraffic: false, maskRequestHost: 'app.internal' });
  const forkToken = a.inherit('src', 'fork');
  assert.ok(forkToken && forkToken !== token);
  assert.equal(a.maskedHost('fork', 8080), 'app.internal');
  assert.equal(a.refusal('fork', 8080, token!)!.status, 403);
  assert.equal(a.inherit('public-src', 'fork2'), null);
  assert.equal(a.restricted('fork2'), false);
});
