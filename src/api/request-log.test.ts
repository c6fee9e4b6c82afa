import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { errors } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { ApiKeyStore } from '../store/api-key-store.js';
import { openDatabase } from '../store/database.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { createApiApp } from './app.js';

type Line = Record<string, unknown> & { level: number; msg: string; err?: { message: string; stack: string } };

/** A logger writing parsed lines into an array. */
function memoryLogger() {
  const lines: Line[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { log, lines };
}

/** The real API app over a service that has only the methods these tests call (results unused). */
function apiWith(sandboxes: Record<string, (...args: never[]) => unknown>, keys?: ApiKeyStore) {
  const { log, lines } = memoryLogger();
  const app = createApiApp(sandboxes as unknown as SandboxService, {} as MetricsStore, keys, log);
  return { app, lines };
}

test('a request that succeeds is logged once at info with method, route pattern, status, duration and sandbox id', async () => {
  const { app, lines } = apiWith({ setTimeout: () => undefined });
  const res = await app.request('/sandboxes/abc123/timeout', { method: 'POST', body: JSON.stringify({ timeout: 30 }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 204);
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line!.level, pino.levels.values.info);
  assert.equal(line!.method, 'POST');
  assert.equal(line!.route, '/sandboxes/:id/timeout');
  assert.equal(line!.status, 204);
  assert.equal(line!.sandboxId, 'abc123');
  assert.equal(typeof line!.durationMs, 'number');
  assert.ok((line!.durationMs as number) >= 0);
  assert.equal(line!.msg, 'POST /sandboxes/:id/timeout 204');
});

test('a 4xx is logged at info with the error message the client got', async () => {
  const { app, lines } = apiWith({ get: (id: string) => { throw errors.sandboxNotFound(id); } });
  const res = await app.request('/sandboxes/gone1');
  assert.equal(res.status, 404);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, pino.levels.values.info);
  assert.equal(lines[0]!.route, '/sandboxes/:id');
  assert.equal(lines[0]!.sandboxId, 'gone1');
  assert.equal(lines[0]!.error, "sandbox 'gone1' not found");
});

test('a 5xx is logged at error with the cause: its message and stack', async () => {
  const cause = new Error('runc: container is in an unknown state');
  const { app, lines } = apiWith({ kill: () => Promise.reject(errors.startFailed('broken1', cause)) });
  const res = await app.request('/sandboxes/broken1', { method: 'DELETE' });
  assert.equal(res.status, 500);
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line!.level, pino.levels.values.error);
  assert.equal(line!.route, '/sandboxes/:id');
  assert.equal(line!.sandboxId, 'broken1');
  assert.match(line!.err!.message, /runc: container is in an unknown state/);
  assert.match(line!.err!.stack, /caused by: Error: runc: container is in an unknown state/);
});

test('an unexpected error is logged at error with its stack, and the client gets 500', async () => {
  const { app, lines } = apiWith({ kill: () => Promise.reject(new TypeError('x is not a function')) });
  const res = await app.request('/sandboxes/s1', { method: 'DELETE' });
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { code: 500, message: 'internal error: x is not a function' });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, pino.levels.values.error);
  assert.equal(lines[0]!.err!.message, 'x is not a function');
  assert.match(lines[0]!.err!.stack, /^TypeError: x is not a function\n\s+at /);
});

test('a request the key check refuses still names its route and sandbox', async () => {
  const keys = new ApiKeyStore(openDatabase(':memory:'));
  const { app, lines } = apiWith({}, keys);
  const res = await app.request('/v2/sandboxes/s2/connect', { method: 'POST', body: '{}' });
  assert.equal(res.status, 401);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.route, '/v2/sandboxes/:id/connect');
  assert.equal(lines[0]!.sandboxId, 's2');
  assert.match(lines[0]!.error as string, /missing API key/);
});

test('a path no route matches is logged with the path instead; an :id that is no sandbox is not called one', async () => {
  const { app, lines } = apiWith({ deleteSnapshot: () => Promise.resolve(true) });
  assert.equal((await app.request('/nothing/here')).status, 404);
  assert.equal((await app.request('/templates/t1', { method: 'DELETE' })).status, 204);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.route, undefined);
  assert.equal(lines[0]!.path, '/nothing/here');
  assert.equal(lines[0]!.msg, 'GET /nothing/here 404');
  assert.equal(lines[1]!.route, '/templates/:id');
  assert.equal(lines[1]!.sandboxId, undefined);
});
