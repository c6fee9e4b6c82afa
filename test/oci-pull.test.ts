// pullImage against a real registry (docker-registry on loopback), images pushed with umoci and
// skopeo: tags, digests, manifest lists, shared layers, whiteouts seen through a real overlay
// mount, image settings, mirrors and the errors a template build shows.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile, chmod, chown, link } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type PullOptions, pullImage } from '../src/templates/oci/pull-image.js';
import {
  baseRootfsDir, manifestDigest, pushLayers, pushManifestList, pushRootfs, startRegistry, type TestRegistry,
} from './support/oci-registry.js';
import { freePort } from './support/free-port.js';

const run = promisify(execFile);
const settings = { cmd: ['/bin/app', '--serve'], entrypoint: ['/init'], env: ['A=1', 'B=two words'], workingDir: '/srv', user: '1000:1001' };
const alice = { username: 'alice', password: 'right-password' };

let work: string;
let registry: TestRegistry;
let locked: TestRegistry;
/** Layer folders the images are made of; the zstd image has its own (see before()). */
let base: string;
let top: string;
let zstdBase: string;
let zstdTop: string;
let arm: string;

/** A bottom and a top layer folder under `dir`. */
async function layerFolders(dir: string): Promise<{ base: string; top: string }> {
  const base = path.join(dir, 'base');
  for (const d of ['etc', 'data', 'bin', 'dev', 'tmp']) await mkdir(path.join(base, d), { recursive: true });
  await writeFile(path.join(base, 'etc/hello'), 'hello\n');
  await chown(path.join(base, 'etc/hello'), 1000, 1001);
  await chmod(path.join(base, 'etc/hello'), 0o640);
  await writeFile(path.join(base, 'etc/gone.txt'), 'deleted by the top layer\n');
  await writeFile(path.join(base, 'etc/labelled'), 'x');
  execFileSync('setfattr', ['-n', 'user.sandcastle', '-v', 'yes', path.join(base, 'etc/labelled')]);
  await writeFile(path.join(base, 'data/old1'), '1');
  await writeFile(path.join(base, 'data/old2'), '2');
  await writeFile(path.join(base, 'bin/tool'), '#!/bin/sh\n');
  await chmod(path.join(base, 'bin/tool'), 0o4755);
  await link(path.join(base, 'bin/tool'), path.join(base, 'bin/tool-link'));
  await symlink('etc/hello', path.join(base, 'link'));
  execFileSync('mknod', ['-m', '666', path.join(base, 'dev/null'), 'c', '1', '3']);
  await chmod(path.join(base, 'tmp'), 0o1777);

  await writeFile(path.join(base, 'etc/variant'), dir);

  const top = path.join(dir, 'top');
  for (const d of ['etc', 'data']) await mkdir(path.join(top, d), { recursive: true });
  await writeFile(path.join(top, 'etc/.wh.gone.txt'), '');
  await writeFile(path.join(top, 'data/.wh..wh..opq'), '');
  await writeFile(path.join(top, 'data/new'), 'new');
  await writeFile(path.join(top, 'etc/added'), dir);
  return { base, top };
}

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-test-oci-'));
  ({ base, top } = await layerFolders(path.join(work, 'gzip')));
  // Other content for the zstd image: skopeo would otherwise push the registry's gzip blobs of
  // the same layers again instead of zstd ones (its blob cache knows they hold the same files).
  ({ base: zstdBase, top: zstdTop } = await layerFolders(path.join(work, 'zstd')));
  arm = path.join(work, 'arm');
  await mkdir(path.join(arm, 'etc'), { recursive: true });
  await writeFile(path.join(arm, 'etc/arch'), 'arm64');
  registry = await startRegistry();
  locked = await startRegistry({ auth: alice });
  await pushLayers(registry, 'small:v1', [base], { config: settings });
  await pushLayers(registry, 'layered:v1', [base, top]);
  await pushLayers(registry, 'zstd:v1', [zstdBase, zstdTop], { compression: 'zstd' });
  await pushLayers(registry, 'small:arm', [arm]);
  await pushLayers(registry, 'library/debian:bookworm', [base], { config: { cmd: ['bash'] } });
  await pushLayers(locked, 'private:v1', [base], { auth: alice });
});

after(async () => {
  await registry?.stop();
  await locked?.stop();
  await rm(work, { recursive: true, force: true });
});

let dirCount = 0;
/** Options with empty layer and image folders of their own, and the log lines collected. */
async function fresh(extra: Partial<PullOptions> = {}): Promise<PullOptions & { lines: string[] }> {
  const dir = path.join(work, `pull${dirCount++}`);
  const lines: string[] = [];
  return { layersDir: path.join(dir, 'layers'), imagesDir: path.join(dir, 'images'), insecureRegistries: [registry.host, locked.host], log: (l) => lines.push(l), lines, ...extra };
}

/** Files of the read-only overlay of `layers` (top first), as `path type mode uid:gid`. The mount
 *  lives in a private mount namespace, so it vanishes even if the test dies. */
async function overlayListing(layers: string[]): Promise<string[]> {
  const mnt = await mkdtemp(path.join(work, 'mnt-'));
  try {
    const script = 'mount -t overlay overlay -o "ro,lowerdir=$1" "$2"; cd "$2"; find . -mindepth 1 -printf "%P %y %m %U:%G\\n"; cd /; umount "$2"';
    const { stdout } = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', script, 'sh', layers.join(':'), mnt]);
    return stdout.trim().split('\n').sort();
  } finally {
    await rm(mnt, { recursive: true, force: true });
  }
}

test('pull by tag: one layer folder named by its digest, owners, modes, links, devices and xattrs kept', async () => {
  const opts = await fresh();
  const image = await pullImage(`${registry.host}/small:v1`, opts);
  assert.equal(image.digest, await manifestDigest(registry, 'small', 'v1'));
  assert.equal(image.layers.length, 1);
  const layer = image.layers[0]!;
  assert.match(path.basename(layer), /^oci-sha256-[a-f0-9]{64}$/);
  assert.equal(path.dirname(layer), opts.layersDir);
  assert.deepEqual(readdirSync(opts.layersDir), [path.basename(layer)], 'no temporary folder left');

  const hello = statSync(path.join(layer, 'etc/hello'));
  assert.deepEqual([hello.uid, hello.gid, hello.mode & 0o7777], [1000, 1001, 0o640]);
  assert.equal(statSync(path.join(layer, 'bin/tool')).mode & 0o7777, 0o4755);
  assert.equal(statSync(path.join(layer, 'bin/tool-link')).ino, statSync(path.join(layer, 'bin/tool')).ino, 'hard link');
  assert.equal(readlinkSync(path.join(layer, 'link')), 'etc/hello');
  const dev = lstatSync(path.join(layer, 'dev/null'));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, 0x103);
  assert.equal(statSync(path.join(layer, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'user.sandcastle', path.join(layer, 'etc/labelled')], { encoding: 'utf8' }), 'yes');
  assert.equal(statSync(layer).mode & 0o777, 0o755);
});

test('image settings come from the image config', async () => {
  const image = await pullImage(`${registry.host}/small:v1`, await fresh());
  assert.deepEqual(image.config, { env: ['A=1', 'B=two words'], cmd: ['/bin/app', '--serve'], entrypoint: ['/init'], workingDir: '/srv', user: '1000:1001' });
  const bare = await pullImage(`${registry.host}/layered:v1`, await fresh());
  assert.deepEqual(bare.config, { env: [], cmd: null, entrypoint: null, workingDir: null, user: null });
});

test('pull by digest gives the same image; a second pull unpacks nothing', async () => {
  const opts = await fresh();
  const byTag = await pullImage(`${registry.host}/small:v1`, opts);
  const inode = statSync(byTag.layers[0]!).ino;
  opts.lines.length = 0;
  const t0 = performance.now();
  const byDigest = await pullImage(`${registry.host}/small:v1@${byTag.digest}`, opts);
  const ms = performance.now() - t0;
  assert.deepEqual(byDigest, byTag);
  assert.equal(statSync(byDigest.layers[0]!).ino, inode, 'the same folder, not a new one');
  assert.ok(opts.lines.some((l) => /already unpacked/.test(l)), opts.lines.join('\n'));
  assert.ok(ms < 2000, `second pull took ${ms.toFixed(0)} ms`);
  assert.deepEqual(await pullImage(`${registry.host}/small@${byTag.digest}`, opts), byTag);
  await assert.rejects(pullImage(`${registry.host}/small@sha256:${'0'.repeat(64)}`, opts), /image 127\.0\.0\.1:\d+\/small@sha256:0{64} not found/);
});

test('two images sharing a layer share its folder; layers come top first', async () => {
  const opts = await fresh();
  const small = await pullImage(`${registry.host}/small:v1`, opts);
  const layered = await pullImage(`${registry.host}/layered:v1`, opts);
  assert.equal(layered.layers.length, 2);
  assert.equal(layered.layers[1], small.layers[0], 'bottom layer shared');
  assert.equal(readdirSync(opts.layersDir).length, 2);
});

test('whiteouts and opaque folders hide lower files in a real overlay mount', async () => {
  for (const [name, compression] of [['layered:v1', 'gzip'], ['zstd:v1', 'zstd']]) {
    const opts = await fresh();
    const image = await pullImage(`${registry.host}/${name}`, opts);
    assert.equal(opts.lines.filter((l) => l.includes(`MB ${compression}`)).length, 2, opts.lines.join('\n'));
    const files = await overlayListing(image.layers);
    const names = files.map((f) => f.split(' ')[0]);
    assert.ok(!names.includes('etc/gone.txt'), `${name}: deleted file is gone: ${names.join(', ')}`);
    assert.ok(names.includes('etc/hello') && names.includes('etc/added'), `${name}: other files of both layers are there`);
    assert.deepEqual(names.filter((n) => n?.startsWith('data/')), ['data/new'], `${name}: opaque folder shows only the top layer's files`);
    assert.ok(!names.some((n) => n?.includes('.wh.')), `${name}: no whiteout file is visible`);
    assert.ok(files.includes('etc/hello f 640 1000:1001'), `${name}: owner and mode through the overlay`);
  }
});

test('a manifest list gives the linux/amd64 image; the digest is the list\'s', async () => {
  const listDigest = await pushManifestList(registry, 'small', 'multi', { arm: 'linux/arm64', v1: 'linux/amd64' });
  const opts = await fresh();
  const image = await pullImage(`${registry.host}/small:multi`, opts);
  assert.equal(image.digest, listDigest);
  const files = readdirSync(path.join(image.layers[0]!, 'etc'));
  assert.ok(files.includes('hello') && !files.includes('arch'), `the amd64 image: ${files.join(', ')}`);
  assert.deepEqual(image.config.cmd, settings.cmd);
  assert.ok(opts.lines.some((l) => /multi-platform: taking the linux\/amd64 image/.test(l)));
});

test('a Docker Hub name is served by a mirror, tried in order, without reaching Docker Hub', async () => {
  // Loopback is never proxied, anything else would go to this dead proxy and fail: the test
  // cannot reach the internet even if the mirror were skipped.
  const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, HTTP_PROXY: process.env.HTTP_PROXY };
  const deadPort = await freePort();
  process.env.HTTPS_PROXY = process.env.HTTP_PROXY = `http://127.0.0.1:${deadPort}`;
  try {
    const deadMirror = `127.0.0.1:${await freePort()}`;
    const opts = await fresh({ registryMirrors: [deadMirror, `http://${registry.host}/`], insecureRegistries: [deadMirror, registry.host] });
    const image = await pullImage('debian:bookworm', opts);
    assert.equal(image.digest, await manifestDigest(registry, 'library/debian', 'bookworm'));
    assert.deepEqual(image.config.cmd, ['bash']);
    assert.ok(opts.lines.some((l) => l.includes(`cannot reach registry ${deadMirror}`)), opts.lines.join('\n'));
    assert.ok(opts.lines.some((l) => l === `pulling docker.io/library/debian:bookworm from mirror ${registry.host}`), opts.lines.join('\n'));
    assert.ok(!opts.lines.some((l) => /Docker Hub/.test(l)), opts.lines.join('\n'));
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('an unknown tag names the image and the registry\'s answer', async () => {
  await assert.rejects(pullImage(`${registry.host}/small:nope`, await fresh()), {
    message: `image ${registry.host}/small:nope not found: registry ${registry.host} answered "manifest unknown"`,
  });
  await assert.rejects(pullImage(`${registry.host}/nosuch`, await fresh()), /image 127\.0\.0\.1:\d+\/nosuch:latest not found/);
});

test('an unreachable registry is named', async () => {
  const host = `127.0.0.1:${await freePort()}`;
  await assert.rejects(pullImage(`${host}/x:1`, await fresh()), { message: `cannot reach registry ${host} to pull ${host}/x:1: connect: connection refused` });
});

test('credentials: refused when wrong, asked for when missing, used when right', async () => {
  const ref = `${locked.host}/private:v1`;
  await assert.rejects(pullImage(ref, await fresh({ auth: { username: 'alice', password: 'wrong' } })), new RegExp(`registry ${locked.host} refused the credentials of user "alice"`));
  await assert.rejects(pullImage(ref, await fresh()), new RegExp(`registry ${locked.host} requires credentials to pull ${ref}`));
  const image = await pullImage(ref, await fresh({ auth: alice }));
  assert.equal(image.layers.length, 1);
});

test('concurrent pulls of one image, in this process and another, unpack each layer into one folder', async () => {
  const opts = await fresh();
  const ref = `${registry.host}/layered:v1`;
  const program = `
    import { pullImage } from ${JSON.stringify(new URL('../src/templates/oci/pull-image.ts', import.meta.url).href)};
    const r = await pullImage(${JSON.stringify(ref)}, { layersDir: ${JSON.stringify(opts.layersDir)}, imagesDir: ${JSON.stringify(`${opts.imagesDir}-other`)}, insecureRegistries: [${JSON.stringify(registry.host)}], log: () => {} });
    console.log(JSON.stringify(r.layers));`;
  const [a, b, other] = await Promise.all([
    pullImage(ref, opts),
    pullImage(ref, opts),
    run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program]),
  ]);
  assert.deepEqual(a.layers, b.layers);
  assert.deepEqual(JSON.parse(other.stdout), a.layers);
  assert.deepEqual(readdirSync(opts.layersDir).sort(), a.layers.map((l) => path.basename(l)).sort(), 'no temporary folder left');
});

test('a cancelled pull leaves no half layer', async () => {
  const controller = new AbortController();
  const opts = await fresh({ signal: controller.signal });
  opts.log = (l) => {
    if (l.startsWith('blobs of')) controller.abort();
  };
  await assert.rejects(pullImage(`${registry.host}/layered:v1`, opts), { name: 'AbortError' });
  assert.deepEqual(readdirSync(opts.layersDir), []);
});

test('the base template\'s Debian root file system comes back file for file', async () => {
  const rootfs = baseRootfsDir();
  await pushRootfs(registry, 'base:v1', rootfs, { cmd: ['/bin/bash'] });
  const image = await pullImage(`${registry.host}/base:v1`, await fresh());
  // Folder sizes depend on the order files were made in; everything else must match.
  const listing = (dir: string) =>
    execFileSync('find', ['.', '-printf', '%y %p %m %U %G %n %l %T@ %s\\n'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 })
      .trim().split('\n').map((l) => (l.startsWith('d ') ? l.replace(/ \d+$/, '') : l)).sort();
  const want = listing(rootfs);
  const got = listing(image.layers[0]!);
  assert.equal(got.length, want.length);
  assert.deepEqual(got.filter((l, i) => l !== want[i]).slice(0, 5), []);
});
