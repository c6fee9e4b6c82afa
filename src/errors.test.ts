import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorBody, errors, rawHttpError, renderError } from './errors.js';

const curl = 'curl/8.5.0';
const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

test('a catalogued error becomes {code, message} with code equal to its status', () => {
  assert.deepEqual(errorBody(errors.sandboxNotFound('abc')), { code: 404, message: "sandbox 'abc' not found" });
});

test('for sandbox traffic the body also says which sandbox and port', () => {
  const body = errorBody(errors.sandboxPaused('abc'), { sandboxId: 'abc', port: 8080 });
  assert.deepEqual(body, { code: 409, message: "sandbox 'abc' is paused; connect to it (Sandbox.connect) to resume it", sandboxId: 'abc', port: 8080 });
});

test('an error outside the catalogue is a 500 that says what went wrong', () => {
  assert.deepEqual(errorBody(new TypeError('x is not a function')), { code: 500, message: 'internal error: x is not a function' });
  assert.equal(renderError(new Error('boom'), curl).status, 500);
});

test('a program gets JSON, a browser an HTML page with the message escaped', () => {
  const err = errors.badSandboxHost('<script>', 'sandbox.test');
  const json = renderError(err, curl, { port: 80 });
  assert.equal(json.status, 400);
  assert.equal(json.type, 'application/json');
  assert.deepEqual(JSON.parse(json.body), { code: 400, message: err.message, port: 80 });

  const html = renderError(err, firefox, { port: 80 });
  assert.equal(html.status, 400);
  assert.equal(html.type, 'text/html; charset=utf-8');
  assert.match(html.body, /<h1>400<\/h1>/);
  assert.ok(html.body.includes('&#60;script&#62;'));
  assert.ok(!html.body.includes('<script>'));
});

test('without a user agent the answer is JSON', () => {
  assert.equal(renderError(errors.sandboxGone('abc', 'killed'), undefined).type, 'application/json');
});

test('the raw form is a complete HTTP/1.1 message that closes the connection', () => {
  const raw = rawHttpError(errors.sandboxPortClosed('abc', 3000, 'ECONNREFUSED'), curl, { sandboxId: 'abc', port: 3000 });
  const [head, body] = raw.split('\r\n\r\n') as [string, string];
  const lines = head.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 502 Bad Gateway');
  assert.ok(lines.includes('content-type: application/json'));
  assert.ok(lines.includes('connection: close'));
  assert.ok(lines.includes(`content-length: ${Buffer.byteLength(body)}`));
  assert.deepEqual(JSON.parse(body), {
    code: 502,
    message: "sandbox 'abc' is running but nothing answers on port 3000 (ECONNREFUSED)",
    sandboxId: 'abc',
    port: 3000,
  });
});

test('the raw form counts the body in bytes (the HTML page is not ASCII)', () => {
  const raw = rawHttpError(errors.sandboxGone('abc', 'killed'), firefox);
  const [head, body] = raw.split('\r\n\r\n') as [string, string];
  assert.ok(Buffer.byteLength(body) > body.length);
  assert.ok(head.split('\r\n').includes(`content-length: ${Buffer.byteLength(body)}`));
});
