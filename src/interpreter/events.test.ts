import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventLine, logEvent, resultEvent, wireEvents } from './events.js';

test('a MIME bundle maps to the fields the SDK reads, unknown types into extra', () => {
  const event = resultEvent(
    {
      'text/plain': "'quoted'",
      'text/html': '<b>h</b>',
      'text/markdown': '# m',
      'image/svg+xml': '<svg/>',
      'image/png': 'iVBOR',
      'image/jpeg': '/9j/',
      'application/pdf': 'JVBER',
      'text/latex': '$x$',
      'application/json': { a: 1 },
      'application/javascript': 'alert(1)',
      'e2b/data': { col: [1] },
      'e2b/chart': { type: 'line', elements: [] },
      'application/vnd.custom+json': { c: true },
    },
    true,
  );
  assert.deepEqual(event, {
    type: 'result',
    is_main_result: true,
    text: 'quoted',
    html: '<b>h</b>',
    markdown: '# m',
    svg: '<svg/>',
    png: 'iVBOR',
    jpeg: '/9j/',
    pdf: 'JVBER',
    latex: '$x$',
    json: { a: 1 },
    javascript: 'alert(1)',
    data: { col: [1] },
    chart: { type: 'line', elements: [] },
    extra: { 'application/vnd.custom+json': { c: true } },
  });
});

test('absent formats are left out and only a whole quoted string loses its quotes', () => {
  assert.deepEqual(resultEvent({ 'text/plain': "it's" }, false), { type: 'result', is_main_result: false, text: "it's" });
  assert.deepEqual(resultEvent({ 'text/plain': "'a', 'b'" }, false).text, "a', 'b");
  assert.deepEqual(resultEvent({ 'text/html': null }, false), { type: 'result', is_main_result: false });
});

test('long output goes out in several events, cut after a newline where there is one', () => {
  const event = logEvent('stdout', `${'a'.repeat(5)}\n${'b'.repeat(6)}\nccc`);
  const parts = wireEvents(event, 8);
  assert.deepEqual(parts.map((p) => (p as { text: string }).text), ['aaaaa\n', 'bbbbbb\n', 'ccc']);
  assert.ok(parts.every((p) => p.type === 'stdout' && 'timestamp' in p && p.timestamp === (event as { timestamp: string }).timestamp));
});

test('output without newlines is cut at the limit, never inside a surrogate pair', () => {
  const text = `abc😀${'d'.repeat(10)}`;
  const parts = wireEvents(logEvent('stderr', text), 4).map((p) => (p as { text: string }).text);
  assert.equal(parts.join(''), text);
  assert.ok(parts.every((p) => p.length <= 4));
  assert.equal(parts[0], 'abc', 'the emoji is not split between two events');
});

test('short output and other events go out as they are', () => {
  const short = logEvent('stdout', 'hello\n');
  assert.deepEqual(wireEvents(short), [short]);
  const end = { type: 'end_of_execution' } as const;
  assert.deepEqual(wireEvents(end, 1), [end]);
});

test('an event line is ASCII, other characters escaped, and parses back to the same event', () => {
  const event = logEvent('stdout', 'é😀\u0000"\n');
  const line = eventLine(event);
  assert.match(line, /^[\x00-\x7f]*\n$/);
  assert.ok(line.includes('\\u00e9\\ud83d\\ude00'), line);
  assert.deepEqual(JSON.parse(line), event);
});
