// The envd side of the current e2b SDK, unmodified: what a paused or killed sandbox's envd
// answers, file metadata, watch entries, signed file URLs and PTY resize.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sandbox } from 'e2b';
import { useTestServer, type ServerProcess } from './support/server-process.js';

const testServer = useTestServer();

/** envd's /health of a sandbox through the SDK-header route, as the SDK asks it. */
async function health(server: ServerProcess, sandboxId: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}/health`, { headers: { 'E2b-Sandbox-Id': sandboxId, 'E2b-Sandbox-Port': '49983' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('a paused or killed sandbox', () => {
  it('is not running (502 from envd saying which), and connect resumes a paused one', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept');
      assert.equal(await sbx.isRunning(), true);
      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.isRunning(), false);
      const paused = await health(testServer.current(), sbx.sandboxId);
      assert.equal(paused.status, 502);
      assert.deepEqual(paused.body, {
        code: 502,
        message: `sandbox '${sbx.sandboxId}' is paused; connect to it (Sandbox.connect) to resume it`,
        sandboxId: sbx.sandboxId,
        port: 49983,
      });
      await assert.rejects(sbx.files.read('/home/user/kept.txt'), /paused/);

      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.isRunning(), true);
      assert.equal(await resumed.files.read('/home/user/kept.txt'), 'kept');
    } finally {
      await sbx.kill();
    }
    assert.equal(await sbx.isRunning(), false);
    const killed = await health(testServer.current(), sbx.sandboxId);
    assert.equal(killed.status, 502);
    assert.deepEqual(killed.body, { code: 502, message: 'The sandbox was not found', sandboxId: sbx.sandboxId });
    const never = await health(testServer.current(), 'nosuchsandbox');
    assert.deepEqual(never, { status: 502, body: { code: 502, message: 'The sandbox was not found', sandboxId: 'nosuchsandbox' } });
  });
});
