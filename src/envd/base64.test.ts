import assert from 'node:assert/strict';
import { test } from 'node:test';
// First, as in envd's main: protobuf-es captures toBase64 when it loads.
import './base64.js';
import { base64Encode } from '@bufbuild/protobuf/wire';

type WithToBase64 = Uint8Array & { toBase64(o?: { alphabet?: 'base64' | 'base64url'; omitPadding?: boolean }): string };

test('toBase64 follows the standard for every alphabet/padding combination', () => {
  const cases: [number[], object | undefined, string][] = [
    [[], undefined, ''],
    [[0xfb], undefined, '+w=='],
    [[0xfb, 0xff], {}, '+/8='],
    [[0xfb, 0xff], { omitPadding: true }, '+/8'],
    [[0xfb, 0xff], { alphabet: 'base64url' }, '-_8='],
    [[0xfb, 0xff], { alphabet: 'base64url', omitPadding: true }, '-_8'],
    [[1, 2, 3], undefined, 'AQID'],
  ];
  for (const [bytes, options, expected] of cases) {
    assert.equal((new Uint8Array(bytes) as WithToBase64).toBase64(options), expected, JSON.stringify({ bytes, options }));
  }
});

test('a view into a larger buffer encodes only its own bytes', () => {
  const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
  assert.equal((whole.subarray(2, 5) as WithToBase64).toBase64(), 'AQID');
});

test('protobuf-es produces the same text through it', () => {
  const bytes = new Uint8Array(1000).map((_, i) => (i * 37) & 0xff);
  assert.equal(base64Encode(bytes), Buffer.from(bytes).toString('base64'));
  assert.equal(base64Encode(bytes, 'url'), Buffer.from(bytes).toString('base64url'));
});
