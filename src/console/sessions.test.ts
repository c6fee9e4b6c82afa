import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ApiKeyStore } from '../store/api-key-store.js';
import { safeNext } from './pages.js';
import { ConsoleSessions } from './sessions.js';

function fakeKeys(valid: Set<string>): ApiKeyStore {
  return { isValid: (k: string) => valid.has(k) } as unknown as ApiKeyStore;
}

it('opens sessions for valid keys only and signs out when the key is deleted', () => {
  const valid = new Set(['good']);
  const sessions = new ConsoleSessions(fakeKeys(valid));
  assert.equal(sessions.open('bad'), undefined);
  const id = sessions.open('good')!;
  assert.match(id, /^[\w-]{43}$/);
  assert.deepEqual(sessions.check(id), { ok: true, key: 'good' });
  assert.deepEqual(sessions.check('made-up'), { ok: false, why: 'not signed in' });
  assert.deepEqual(sessions.check(undefined), { ok: false, why: 'not signed in' });
  valid.delete('good');
  assert.deepEqual(sessions.check(id), { ok: false, why: 'signed out: the API key of this session was deleted' });
  // Gone for good, even if the key came back.
  valid.add('good');
  assert.equal(sessions.check(id).ok, false);
});

it('lets everyone in when the server checks no keys', () => {
  const sessions = new ConsoleSessions(undefined);
  assert.deepEqual(sessions.check(undefined), { ok: true, key: undefined });
  assert.equal(sessions.keysChecked, false);
});

it('follows only console paths after sign-in', () => {
  assert.equal(safeNext('/dashboard/inspect/sandbox/abc'), '/dashboard/inspect/sandbox/abc');
  assert.equal(safeNext('/dashboard/templates/t1?build=b-2'), '/dashboard/templates/t1?build=b-2');
  for (const bad of ['https://evil.example/', '//evil.example/dashboard', '/dashboard/../sandboxes', '/other', undefined]) {
    assert.equal(safeNext(bad), '/dashboard', String(bad));
  }
});
