import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultEvent } from './events.js';

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
