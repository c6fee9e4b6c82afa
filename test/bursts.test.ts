// Bursts queue, they do not fail: 100 concurrent creates through the unmodified SDK all succeed
// (their starts wait for a slot instead of timing out), and past a configured capacity a create
// gets 429 with the SDK's rate-limit error naming the limit, leaving nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimitError, Sandbox } from 'novita-sandbox';
import { apiFetch, disposeServer, startServerProcess, useServer, useTestServer } from './support/server-process.js';

const burst = 100;

describe('bursts of creates', () => {
  const testServer = useTestServer();

  it(`${burst} concurrent Sandbox.create() all succeed and each runs a command`, async () => {
    const results = await Promise.allSettled(
      Array.from({ length: burst }, async () => {
        const sbx = await Sandbox.create();
        try {
          assert.equal((await sbx.commands.run('echo ok')).stdout.trim(), 'ok');
        } finally {
          await sbx.kill();
        }
      }),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    assert.deepEqual(failures, [], `${failures.length} of ${burst} failed`);
    const left = (await (await apiFetch(testServer.current(), '/v2/sandboxes')).json()) as unknown[];
    assert.equal(left.length, 0);
  });
});

describe('capacity', () => {
  it('past SANDCASTLE_MAX_SANDBOXES a create gets 429 (RateLimitError) naming the limit, and nothing is left of it', async () => {
    const server = await startServerProcess({ env: { SANDCASTLE_MAX_SANDBOXES: '3', SANDCASTLE_WARM_POOL: '0' } });
    useServer(server);
    try {
      const made = await Promise.all(Array.from({ length: 3 }, () => Sandbox.create()));
      await assert.rejects(Sandbox.create(), (err: Error) => err instanceof RateLimitError && /at most 3 may \(SANDCASTLE_MAX_SANDBOXES\)/.test(err.message));
      const res = await apiFetch(server, '/sandboxes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"templateID":"base"}' });
      assert.equal(res.status, 429);
      const body = (await res.json()) as { code: number; message: string };
      assert.equal(body.code, 429);
      assert.match(body.message, /SANDCASTLE_MAX_SANDBOXES/);
      assert.equal(((await (await apiFetch(server, '/v2/sandboxes')).json()) as unknown[]).length, 3);
      await made[0]!.kill();
      const after = (await (await apiFetch(server, '/v2/sandboxes')).json()) as unknown[];
      assert.equal(after.length, 2, JSON.stringify(after));
      await (await Sandbox.create()).kill();
      await Promise.all(made.slice(1).map((s) => s.kill()));
    } finally {
      await disposeServer(server);
    }
  });
});
