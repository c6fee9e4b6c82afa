import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { createApiApp } from './app.js';
import { maxBodyBytes } from './schemas.js';

// A service with no methods: the requests below are refused before a route calls it, but one.
const app = createApiApp({} as SandboxService, {} as MetricsStore, undefined, pino({ level: 'silent' }));

test('a body over the limit is a 413 in the API error shape, with or without a length', async () => {
  const big = new Uint8Array(maxBodyBytes + 1).fill(0x20);
  const withLength = await app.request('/sandboxes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: big });
  assert.equal(withLength.status, 413);
  assert.deepEqual(await withLength.json(), { code: 413, message: `request body exceeds ${maxBodyBytes} bytes` });

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(big);
      controller.close();
    },
  });
  const chunked = await app.request('/sandboxes/x/timeout', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
});

test('a body within the limit is read as before, and a failing route stays a 500', async () => {
  const res = await app.request('/sandboxes/x/timeout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { message: string }).message, /not valid JSON/);
  // The empty service has no setTimeout: a bug of the server, not a body cut short.
  const bug = await app.request('/sandboxes/x/timeout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"timeout":600}' });
  assert.equal(bug.status, 500);
  assert.match(((await bug.json()) as { message: string }).message, /^internal error: /);
});

test('a body the client stops sending is its mistake (400), read by the limit or by the route', async () => {
  for (const headers of [{}, { 'Content-Length': '100' }]) {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"timeout":'));
        controller.error(new Error('aborted'));
      },
    });
    const res = await app.request('/sandboxes/x/timeout', { method: 'POST', headers, body: failing, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 400, JSON.stringify(headers));
    assert.deepEqual(await res.json(), { code: 400, message: 'the request body was cut short: aborted' });
  }
});
