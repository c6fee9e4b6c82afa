// Templates from OCI images, pulled from real registries the test runs on loopback: one serving
// as the Docker Hub mirror (so `debian:bookworm` never leaves the machine), one asking for
// credentials. The e2b SDK's builder, unmodified.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildError, Sandbox, Template } from 'e2b';
import { runInNewSandbox } from './support/template-sandbox.js';
import { baseRootfsDir, pushRootfs, startRegistry, type TestRegistry } from './support/oci-registry.js';
import { freePort } from './support/free-port.js';
import { disposeServer, type ServerProcess, startServerProcess, useServer } from './support/server-process.js';

const credentials = { username: 'builder', password: 'right-password' };
let server: ServerProcess | undefined;
let mirror: TestRegistry;
let locked: TestRegistry;
let deadHost: string;
let tiny: string;
let musl: string;

before(async () => {
  [mirror, locked] = await Promise.all([startRegistry(), startRegistry({ auth: credentials })]);
  deadHost = `127.0.0.1:${await freePort()}`;
  tiny = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-tiny-image-'));
  await mkdir(path.join(tiny, 'etc'));
  await writeFile(path.join(tiny, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  // Like Alpine: a static busybox as every program beside musl's loader, no glibc, no `user`.
  musl = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-musl-image-'));
  await mkdir(path.join(musl, 'etc'));
  await writeFile(path.join(musl, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(path.join(musl, 'etc/group'), 'root:x:0:\n');
  await mkdir(path.join(musl, 'bin'));
  await copyFile('/bin/busybox', path.join(musl, 'bin/busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'id', 'ls', 'mkdir']) await symlink('busybox', path.join(musl, 'bin', applet));
  await mkdir(path.join(musl, 'lib'));
  await copyFile('/lib/ld-musl-x86_64.so.1', path.join(musl, 'lib/ld-musl-x86_64.so.1'));
  await mkdir(path.join(musl, 'tmp'), { mode: 0o1777 });
  await Promise.all([
    // Docker Hub's official images are `library/<name>` on a mirror.
    pushRootfs(mirror, 'library/debian:bookworm', baseRootfsDir(), { env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'IMAGE_VAR=from-image-config'] }),
    pushRootfs(locked, 'private/tiny:1', tiny, undefined, credentials),
    pushRootfs(mirror, 'local/musl:1', musl),
    // Distroless: no shell, no libc, no init; only the root account.
    pushRootfs(mirror, 'local/distroless:1', tiny),
  ]);
  server = await startServerProcess({
    env: {
      SANDCASTLE_REGISTRY_MIRRORS: mirror.host,
      SANDCASTLE_INSECURE_REGISTRIES: [mirror.host, locked.host, deadHost].join(','),
    },
  });
  useServer(server);
});
after(async () => {
  if (server) await disposeServer(server);
  await Promise.all([mirror?.stop(), locked?.stop(), rm(tiny, { recursive: true, force: true }), rm(musl, { recursive: true, force: true })]);
});

describe('templates from OCI images', () => {
  it('builds FROM a Docker Hub image served by the mirror; its sandboxes run it with the image\'s environment', async () => {
    const t = Template().fromImage('debian:bookworm').runCmd('echo built-from-image > /home/user/marker');
    await Template.build(t, 'from-image');
    assert.equal(await runInNewSandbox('from-image', 'cat /home/user/marker; echo $IMAGE_VAR; whoami'), 'built-from-image\nfrom-image-config\nuser\n');
  });

  it('an unknown tag fails the build naming the image and what the registry said', async () => {
    await assert.rejects(Template.build(Template().fromImage('debian:no-such-tag'), 'bad-tag'), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match((e as Error).message, /debian:no-such-tag/);
      assert.match((e as Error).message, /manifest unknown|not found/i);
      return true;
    });
  });

  it('an unreachable registry fails the build naming the registry', async () => {
    await assert.rejects(Template.build(Template().fromImage(`${deadHost}/x:1`), 'dead-registry'), (e: unknown) => {
      assert.match((e as Error).message, new RegExp(deadHost.replace('.', '\\.')));
      return true;
    });
  });

  it('credentials: wrong ones are refused with a message saying so; right ones pull', async () => {
    const image = `${locked.host}/private/tiny:1`;
    await assert.rejects(
      Template.build(Template().fromImage(image, { username: credentials.username, password: 'wrong' }), 'locked-wrong'),
      /credentials/i,
    );
    await Template.build(Template().fromImage(image, credentials), 'locked-right');
    assert.ok(await Template.exists('locked-right'));
  });

  it('an image without glibc (busybox + musl) builds, gets the user account, and runs commands', async () => {
    await Template.build(Template().fromImage(`${mirror.host}/local/musl:1`).runCmd('echo from-busybox > /home/user/made'), 'musl-env');
    assert.equal(await runInNewSandbox('musl-env', 'cat /home/user/made; id -u; id -un'), 'from-busybox\n1000\nuser\n');
  });

  it('a distroless image (no shell, no libc) makes sandboxes whose files work', async () => {
    await Template.build(Template().fromImage(`${mirror.host}/local/distroless:1`), 'distroless-env');
    const sbx = await Sandbox.create('distroless-env');
    try {
      await sbx.files.write('/home/user/note.txt', 'no shell needed');
      assert.equal(await sbx.files.read('/home/user/note.txt'), 'no shell needed');
    } finally {
      await sbx.kill();
    }
  });
});
