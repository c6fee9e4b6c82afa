// Lazy restore (SANDCASTLE_LAZY_RESTORE=1): a resumed sandbox's memory comes in on demand and in
// the background, and a pause that comes before all of it is in still saves every byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { startMemoryHash } from './support/memory-hash.js';
import { disposeServer, startServerProcess, useTestServer } from './support/server-process.js';

// Without user namespaces: in one, the restored processes may open a userfaultfd only where
// vm.unprivileged_userfaultfd is 1, which the server checks at start (tested below).
useTestServer({ env: { SANDCASTLE_LAZY_RESTORE: '1', SANDCASTLE_USERNS: '0', SANDCASTLE_WARM_PAUSED_MAX: '0' } });

describe('lazy restore', () => {
  it('keeps every byte of memory across resumes each followed at once by another pause', async () => {
    const sbx = await Sandbox.create();
    try {
      const memory = await startMemoryHash(sbx, 200);

      // Each pause comes while the last resume's memory is still being copied in.
      for (let i = 0; i < 3; i++) {
        await sbx.betaPause();
        await sbx.connect();
      }
      assert.equal(await memory.now(), memory.before);
    } finally {
      await sbx.kill();
    }
  });

  it('is refused at start, saying what to change, for user-namespaced sandboxes where the kernel would refuse them', async (t) => {
    if (readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8').trim() !== '0') return t.skip('vm.unprivileged_userfaultfd is not 0 here');
    await assert.rejects(
      async () => {
        const server = await startServerProcess({ env: { SANDCASTLE_LAZY_RESTORE: '1', SANDCASTLE_USERNS: '1' } });
        await disposeServer(server);
      },
      /vm\.unprivileged_userfaultfd.*SANDCASTLE_USERNS=0/s,
    );
  });
});
