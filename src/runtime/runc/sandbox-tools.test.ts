import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../run-command.js';
import { hostStaticTini, parseLdd, prepareSandboxTools } from './sandbox-tools.js';

describe('parseLdd', () => {
  it('finds the loader and the libraries by the name the program asks for; skips the vDSO', () => {
    const listing = [
      '\tlinux-vdso.so.1 (0x00007ffc2d1f5000)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f1e0a200000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1e0a000000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f1e0a6e2000)',
    ].join('\n');
    assert.deepEqual(parseLdd('node', listing), {
      loader: '/lib64/ld-linux-x86-64.so.2',
      libraries: [
        { name: 'libstdc++.so.6', path: '/lib/x86_64-linux-gnu/libstdc++.so.6' },
        { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' },
      ],
    });
  });

  it('names the libraries the host lacks', () => {
    const listing = '\tlibfoo.so.1 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)';
    assert.throws(() => parseLdd('/usr/bin/node', listing), /\/usr\/bin\/node needs libraries the host does not have: libfoo\.so\.1/);
  });
});

describe('prepareSandboxTools', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-tools-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes one folder per content, with node pointed at its own loader and libraries', async () => {
    const cacheDir = path.join(dir, 'cache');
    const tini = path.join(dir, 'tini-static');
    await copyFile(hostStaticTini, tini);
    const opts = { nodePath: process.execPath, cacheDir, tiniPath: tini };

    // Two at once (two servers starting): one folder, no partial copy left behind.
    const [a, b] = await Promise.all([prepareSandboxTools(opts), prepareSandboxTools(opts)]);
    assert.deepEqual(a, b);
    assert.equal(a.dir, path.join(cacheDir, a.key));
    assert.deepEqual((await readdir(a.dir)).sort(), ['lib', 'node', 'node-libs', 'tini']);
    assert.ok((await readdir(path.join(a.dir, 'node-libs'))).includes('libc.so.6'));
    assert.equal((await runCommand('patchelf', ['--print-interpreter', path.join(a.dir, 'node')])).trim(), '/opt/sandcastle/node-libs/ld-linux-x86-64.so.2');
    assert.equal((await runCommand('patchelf', ['--print-rpath', path.join(a.dir, 'node')])).trim(), '/opt/sandcastle/node-libs');

    // Unchanged sources: the same folder, found by their stamp without hashing them again.
    const [stamp] = (await readdir(cacheDir)).filter((e) => e.startsWith('source-'));
    assert.equal(await readlink(path.join(cacheDir, stamp!)), a.key);
    assert.deepEqual(await prepareSandboxTools(opts), a);

    // A changed source: another folder; the first stays for sandboxes still using it.
    await appendFile(tini, '\0');
    const changed = await prepareSandboxTools(opts);
    assert.notEqual(changed.key, a.key);
    assert.equal((await stat(path.join(changed.dir, 'tini'))).size, (await stat(tini)).size);
    const entries = await readdir(cacheDir);
    assert.deepEqual(entries.filter((e) => !e.startsWith('source-')).sort(), [a.key, changed.key].sort());
  });

  it('says what is missing when the static tini is not there', async () => {
    await assert.rejects(
      prepareSandboxTools({ nodePath: process.execPath, cacheDir: path.join(dir, 'cache-2'), tiniPath: path.join(dir, 'no-tini') }),
      /no-tini: ENOENT \(Debian's tini package ships it; run scripts\/setup-host\.sh\)/,
    );
  });
});
