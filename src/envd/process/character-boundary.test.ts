import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharacterBoundary, unfinishedCharacterBytes } from './character-boundary.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

test('the unfinished bytes of a character at a chunk\'s end are counted, finished ones are not', () => {
  const chinese = bytes('中'); // three bytes
  const emoji = bytes('😀'); // four bytes
  assert.equal(unfinishedCharacterBytes(bytes('ascii')), 0);
  assert.equal(unfinishedCharacterBytes(Buffer.concat([bytes('a'), chinese])), 0);
  assert.equal(unfinishedCharacterBytes(Buffer.concat([bytes('a'), chinese.subarray(0, 1)])), 1);
  assert.equal(unfinishedCharacterBytes(Buffer.concat([bytes('a'), chinese.subarray(0, 2)])), 2);
  assert.equal(unfinishedCharacterBytes(emoji.subarray(0, 3)), 3);
  assert.equal(unfinishedCharacterBytes(emoji), 0);
  assert.equal(unfinishedCharacterBytes(Buffer.from([0xff, 0xfe])), 0, 'bytes that start no character are not held');
  assert.equal(unfinishedCharacterBytes(Buffer.from([0x80, 0x80, 0x80])), 0, 'stray continuation bytes are not held');
  assert.equal(unfinishedCharacterBytes(Buffer.alloc(0)), 0);
});

test('text cut anywhere comes out in pieces that each decode whole, and nothing is lost', () => {
  const text = bytes('héllo 中文 😀 end');
  for (let cut1 = 0; cut1 <= text.length; cut1++) {
    for (let cut2 = cut1; cut2 <= text.length; cut2++) {
      const boundary = new CharacterBoundary();
      const pieces = [text.subarray(0, cut1), text.subarray(cut1, cut2), text.subarray(cut2)].map((c) => boundary.take(c));
      pieces.push(boundary.release() ?? Buffer.alloc(0));
      assert.ok(!pieces.some((p) => p.toString('utf8').includes('\ufffd')), `cut at ${cut1}, ${cut2}`);
      assert.deepEqual(Buffer.concat(pieces), text);
    }
  }
});

test('bytes held are given up as they are when asked', () => {
  const boundary = new CharacterBoundary();
  assert.deepEqual(boundary.take(Buffer.from([0x41, 0xe4])), Buffer.from([0x41]));
  assert.ok(boundary.holding);
  assert.deepEqual(boundary.release(), Buffer.from([0xe4]));
  assert.ok(!boundary.holding);
  assert.equal(boundary.release(), undefined);
});
