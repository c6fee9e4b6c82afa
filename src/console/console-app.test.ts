import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger } from '../log.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { ApiKeyStore } from '../store/api-key-store.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { createConsoleApp } from './console-app.js';

function consoleWith(valid: Set<string>) {
  const seen: Request[] = [];
  const { app } = createConsoleApp({
    api: (req) => {
      seen.push(req);
      return Response.json({ path: new URL(req.url).pathname + new URL(req.url).search });
    },
    keys: { isValid: (k: string) => valid.has(k) } as unknown as ApiKeyStore,
    sandboxes: {} as SandboxService,
    metrics: {} as MetricsStore,
    assetsDir: '/nonexistent',
    log: createLogger({ logLevel: 'silent' }),
  });
  const signIn = (key: string) =>
    app.request('/dashboard/login', { method: 'POST', body: new URLSearchParams({ key, next: '/dashboard/keys' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { app, seen, signIn };
}

it('signs in with a valid key into an HttpOnly, SameSite=Strict cookie that is not the key', async () => {
  const { app, seen, signIn } = consoleWith(new Set(['e2b_good']));
  const refused = await signIn('e2b_bad');
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /not valid on this server/);

  const res = await signIn('e2b_good');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/dashboard/keys');
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /e2b_good/);

  const session = cookie.split(';')[0]!;
  const forwarded = await app.request('/dashboard/api/v2/sandboxes?state=running', { headers: { cookie: session } });
  assert.deepEqual(await forwarded.json(), { path: '/v2/sandboxes?state=running' });
  assert.equal(seen[0]!.headers.get('x-api-key'), 'e2b_good');
});

it('sends pages without a session to sign-in and refuses API calls and big bodies', async () => {
  const valid = new Set(['e2b_good']);
  const { app, seen, signIn } = consoleWith(valid);
  const page = await app.request('/dashboard/inspect/sandbox/abc');
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/dashboard/login?next=%2Fdashboard%2Finspect%2Fsandbox%2Fabc');
  assert.equal((await app.request('/dashboard/api/sandboxes')).status, 401);
  assert.equal(seen.length, 0);

  const session = (await signIn('e2b_good')).headers.get('set-cookie')!.split(';')[0]!;
  valid.delete('e2b_good');
  const after = await app.request('/dashboard/api/sandboxes', { headers: { cookie: session } });
  assert.equal(after.status, 401);
  assert.match(((await after.json()) as { message: string }).message, /key of this session was deleted/);
  assert.equal(seen.length, 0);

  const big = await app.request('/dashboard/login', { method: 'POST', body: 'key='.padEnd(100_000, 'x'), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(big.status, 413);
});

it('shows only its own words on the sign-in form', async () => {
  const { app } = consoleWith(new Set());
  const spoofed = await (await app.request('/dashboard/login?why=Your+key+expired%2C+enter+it+at+evil.example')).text();
  assert.doesNotMatch(spoofed, /evil\.example/);
  assert.match(await (await app.request('/dashboard/login?why=key-deleted')).text(), /API key of this session was deleted/);
});
