import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { bashQuote, MarkerScanner } from './bash-kernel.js';

test('bashQuote keeps any text intact through bash', () => {
  const text = "it's \\ \"q\" $HOME `x` \n\ttab \x01 é 🎲";
  const out = execFileSync('/bin/bash', ['-c', `printf '%s' ${bashQuote(text)}`], { encoding: 'utf8' });
  assert.equal(out, text);
  assert.ok(!bashQuote(text).includes('\n'), 'one line');
});

test('MarkerScanner finds markers split across chunks and passes other text through', () => {
  const marker = '\x1fsandcastle-abc:';
  const text: string[] = [];
  const statuses: string[] = [];
  const scanner = new MarkerScanner(marker, (t) => text.push(t), (s) => statuses.push(s));
  const input = `hello \x1f not a marker\n${marker}0\x1fafter${marker}12\x1f`;
  for (let i = 0; i < input.length; i += 3) scanner.push(input.slice(i, i + 3));
  assert.equal(text.join(''), 'hello \x1f not a marker\nafter');
  assert.deepEqual(statuses, ['0', '12']);
});
