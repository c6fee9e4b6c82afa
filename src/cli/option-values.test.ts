import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine } from './sandbox-exec.js';
import { commaList, keyValues, parseDuration, parseStates, positiveInt } from './option-values.js';
import { renderTable, shortTime } from './output.js';

describe('CLI option values', () => {
  it('durations: no unit is seconds; ms, s, m, h; anything else is refused', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.throws(() => parseDuration('soon'), /expected a duration such as 90, 90s, 5m or 1h/);
    assert.throws(() => parseDuration('-5s'), /expected a duration/);
  });

  it('KEY=VALUE pairs accumulate; with commas several in one; a pair without = is refused', () => {
    const once = keyValues(false)('A=1=2');
    assert.deepEqual(keyValues(false)('B=x', once), { A: '1=2', B: 'x' });
    assert.deepEqual(keyValues(true)('a=1,b=2'), { a: '1', b: '2' });
    assert.throws(() => keyValues(false)('novalue'), /expected KEY=VALUE, got "novalue"/);
  });

  it('comma lists accumulate; states and counts are checked', () => {
    assert.deepEqual(commaList('c', commaList('a, b')), ['a', 'b', 'c']);
    assert.deepEqual(parseStates('Running,paused'), ['running', 'paused']);
    assert.throws(() => parseStates('stopped'), /states are running, paused, got "stopped"/);
    assert.throws(() => positiveInt('0'), /at least 1/);
  });

  it('exec: one argument is a shell line, several are quoted word by word', () => {
    assert.equal(commandLine(['--', 'echo $HOME; ls']), 'echo $HOME; ls');
    assert.equal(commandLine(['printf', '%s', 'a b', "it's", '']), `printf %s 'a b' 'it'"'"'s' ''`);
    assert.throws(() => commandLine(['--']), /no command to run/);
  });

  it('tables pad each column to its widest cell; times lose their milliseconds', () => {
    const rows = [{ a: 'x', b: '1' }, { a: 'longer', b: '22' }];
    const text = renderTable(rows, [
      { header: 'Name', value: (r) => r.a },
      { header: 'N', value: (r) => r.b },
    ]);
    assert.equal(text, 'NAME    N\nx       1\nlonger  22');
    assert.equal(shortTime('2026-01-02T03:04:05.678Z'), '2026-01-02 03:04:05Z');
    assert.equal(shortTime(null), '-');
  });
});
