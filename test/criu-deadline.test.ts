// A CRIU that hangs (as one did on a KVM guest whose hardware breakpoints never fired) must not
// hold its sandbox for ever: past SANDCASTLE_CRIU_TIMEOUT it is killed, the pause or resume fails
// saying so, and the sandbox is as it was before — running, or paused and resumable.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { loadConfig } from '../src/config.js';
import { useTestServer } from './support/server-process.js';

// The real CRIU, behind a wrapper that hangs instead while the test's marker file exists.
const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-criu-hang-'));
const marker = path.join(dir, 'hang');
const hungName = `criu-hang-${path.basename(dir)}`;
const wrapper = path.join(dir, 'criu');
writeFileSync(wrapper, `#!/bin/bash\nif [ -e '${marker}' ]; then exec -a '${hungName}' sleep 3600; fi\nexec '${loadConfig().criuPath}' "$@"\n`);
chmodSync(wrapper, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

useTestServer({ prepared: true, env: { SANDCASTLE_CRIU: wrapper, SANDCASTLE_CRIU_TIMEOUT: '3', SANDCASTLE_WARM_PAUSED_MAX: '0' } });

function hungLeft(): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(hungName));
}

describe('a CRIU that hangs', () => {
  it('is killed at its deadline: the pause fails and the sandbox runs on, the resume fails and it stays paused', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/tmp/kept', 'kept\n');
      await sbx.commands.run('sleep 600', { background: true });

      writeFileSync(marker, '');
      await assert.rejects(sbx.betaPause(), /pausing sandbox '\w+' failed, it keeps running: .*did not finish within 3 s and was killed/);
      assert.deepEqual(hungLeft(), [], 'the hung CRIU was killed');
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.equal((await sbx.commands.run('cat /tmp/kept; pgrep -x sleep >/dev/null && echo sleeping')).stdout, 'kept\nsleeping\n');

      unlinkSync(marker);
      await sbx.betaPause();
      writeFileSync(marker, '');
      await assert.rejects(sbx.connect(), /resuming sandbox '\w+' failed, it stays paused: .*did not finish within 3 s and was killed/);
      assert.deepEqual(hungLeft(), []);
      assert.equal((await sbx.getInfo()).state, 'paused');

      unlinkSync(marker);
      await sbx.connect();
      assert.equal((await sbx.commands.run('cat /tmp/kept; pgrep -x sleep >/dev/null && echo sleeping')).stdout, 'kept\nsleeping\n');
    } finally {
      rmSync(marker, { force: true });
      await sbx.kill();
    }
  });
});
