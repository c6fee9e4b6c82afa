// A build that fills the disk fails cleanly: the data directory sits on a small tmpfs the test
// mounts, a RUN step writes past its sandbox's disk (64 MiB), and the build ends in error with
// nothing half-written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { BuildError, Template } from 'e2b';
import { disposeServer, type ServerProcess, startServerProcess, useServer } from './support/server-process.js';
import { runInNewSandbox } from './support/template-sandbox.js';

let mountPoint: string;
let server: ServerProcess | undefined;

before(async () => {
  mountPoint = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mountPoint]);
  server = await startServerProcess({
    dataDir: path.join(mountPoint, 'data'),
    env: { SANDCASTLE_MIN_FREE_DISK_MB: '0', SANDCASTLE_WARM_POOL: '0', SANDCASTLE_DISK_MB: '64' },
  });
  useServer(server);
});
after(async () => {
  if (server) await disposeServer(server);
  execFileSync('umount', [mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

it('a RUN that fills the disk fails the build; no layer or work folder is left; the next build works', async () => {
  const filler = Template().fromTemplate('base').runCmd('head -c 400M /dev/zero > /home/user/big');
  await assert.rejects(Template.build(filler, 'disk-filler'), (e: unknown) => {
    assert.ok(e instanceof BuildError);
    assert.match((e as Error).message, /step 1 \(RUN head -c 400M/);
    assert.match((e as Error).message, /No space left on device/);
    return true;
  });
  const dataDir = server!.dataDir;
  const layers = await readdir(path.join(dataDir, 'layers')).catch(() => []);
  assert.deepEqual(layers, []);
  assert.equal(existsSync(path.join(dataDir, 'builds')) && (await readdir(path.join(dataDir, 'builds'))).length > 0, false);

  await Template.build(Template().fromTemplate('base').runCmd('echo fits > /home/user/small'), 'disk-ok');
  assert.equal(await runInNewSandbox('disk-ok', 'cat /home/user/small'), 'fits\n');
});
