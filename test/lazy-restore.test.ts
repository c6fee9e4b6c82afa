// Lazy restore (SANDCASTLE_LAZY_RESTORE=1): a resumed sandbox's memory comes in on demand and in
// the background, and a pause that comes before all of it is in still saves every byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useTestServer } from './support/server-process.js';

// Without user namespaces: in one, the restored processes may open a userfaultfd only where
// vm.unprivileged_userfaultfd is 1, which the server checks at start (tested below).
useTestServer({ env: { SANDCASTLE_LAZY_RESTORE: '1', SANDCASTLE_USERNS: '0', SANDCASTLE_WARM_PAUSED_MAX: '0' } });

async function untilExists(sbx: Sandbox, file: string, tries: number): Promise<void> {
  for (let i = 0; i < tries && !(await sbx.files.exists(file)); i++) await new Promise((r) => setTimeout(r, 100));
}

describe('lazy restore', () => {
  it('keeps every byte of memory across resumes each followed at once by another pause', async () => {
    const sbx = await Sandbox.create();
    try {
      // 200 MiB of random bytes; on SIGUSR1 the process writes their hash again.
      const lines = [
        'import hashlib, os, signal, time',
        'b = bytearray(200 * 1024 * 1024)',
        'for i in range(0, len(b), 1 << 20):',
        '    b[i:i + (1 << 20)] = os.urandom(1 << 20)',
        'def report(*_):',
        "    open('/tmp/after.tmp', 'w').write(hashlib.sha256(b).hexdigest())",
        "    os.replace('/tmp/after.tmp', '/tmp/after')",
        'signal.signal(signal.SIGUSR1, report)',
        "open('/tmp/before', 'w').write(hashlib.sha256(b).hexdigest())",
        "open('/tmp/big.pid', 'w').write(str(os.getpid()))",
        'while True:',
        '    time.sleep(1)',
      ];
      await sbx.files.write('/tmp/big.py', lines.join('\n'));
      await sbx.commands.run('python3 /tmp/big.py', { background: true });
      await untilExists(sbx, '/tmp/big.pid', 300);
      const before = await sbx.files.read('/tmp/before');

      // Each pause comes while the last resume's memory is still being copied in.
      for (let i = 0; i < 3; i++) {
        await sbx.betaPause();
        await sbx.connect();
      }
      await sbx.commands.run('kill -USR1 $(cat /tmp/big.pid)');
      await untilExists(sbx, '/tmp/after', 100);
      assert.equal(await sbx.files.read('/tmp/after'), before);
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
