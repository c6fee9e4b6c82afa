import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePageToken, decodeSnapshotToken, encodePageToken, encodeSnapshotToken } from './page-tokens.js';

test('page tokens come back as the cursor they were made from', () => {
  assert.deepEqual(decodePageToken(encodePageToken({ startedAt: 1764000000123, seq: 42 })), { startedAt: 1764000000123, seq: 42 });
  assert.equal(decodeSnapshotToken(encodeSnapshotToken('snap-abc')), 'snap-abc');
});

test('a page token this server did not issue is refused with a 400 naming it', () => {
  assert.throws(() => decodePageToken('bm90IGEgY3Vyc29y'), (err: { status?: number; message?: string }) => err.status === 400 && /bm90IGEgY3Vyc29y/.test(err.message ?? ''));
});
