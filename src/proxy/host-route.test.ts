import assert from 'node:assert/strict';
import { it } from 'node:test';
import { routeForHost } from './host-route.js';

const d = 'sandcastle.localhost';

it('reads port and sandbox from {port}-{id}.{domain}, with or without a client id or a port', () => {
  assert.deepEqual(routeForHost(`3000-abc123.${d}`, d), { kind: 'sandbox', sandboxId: 'abc123', port: 3000 });
  assert.deepEqual(routeForHost(`49983-abc123.${d.toUpperCase()}:443`, d), { kind: 'sandbox', sandboxId: 'abc123', port: 49983 });
  assert.deepEqual(routeForHost(`3000-abc123-82b888ba.${d}.`, d), { kind: 'sandbox', sandboxId: 'abc123', port: 3000 });
});

it('tells names outside the domain from malformed ones and bad ports', () => {
  assert.deepEqual(routeForHost('127.0.0.1:3000', d), { kind: 'other' });
  assert.deepEqual(routeForHost(undefined, d), { kind: 'other' });
  assert.deepEqual(routeForHost(`${d}:443`, d), { kind: 'console' });
  assert.deepEqual(routeForHost(`API.${d}`, d), { kind: 'api' });
  for (const [host, status, message] of [
    [`www.${d}`, 400, /not of the form/],
    [`3000-a.b.${d}`, 400, /not of the form/],
    [`0-abc.${d}`, 400, /port 0 is not/],
    [`65536-abc.${d}`, 400, /port 65536 is not/],
  ] as const) {
    const r = routeForHost(host, d);
    assert.equal(r.kind, 'error', host);
    if (r.kind === 'error') {
      assert.equal(r.error.status, status);
      assert.match(r.error.message, message);
    }
  }
});
