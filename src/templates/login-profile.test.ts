import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { profileWithoutIdCalls, quickenLoginShells, rootProfileWithoutMesgCall } from './login-profile.js';

const debianProfile = `if [ "$(id -u)" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
fi
export PATH
`;

/** PATH after sourcing `file` in `shell` as `uid`, and whether `id` was started (a fake `id`
 *  first in PATH leaves a mark). */
function pathAfter(shell: string, file: string, uid: number, mark: string): { path: string; ranId: boolean } {
  const bin = path.dirname(mark);
  const script = `PATH=${bin}:$PATH; . ${file}; echo "$PATH"`;
  const out = execFileSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', shell, '-c', script], { encoding: 'utf8' });
  const ranId = existsSync(mark);
  if (ranId) execFileSync('rm', ['-f', mark]);
  return { path: out.trim(), ranId };
}

test('the profile edit gives bash and other shells the same PATH, without starting id in bash', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'login-profile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { mode: 0o777 });
  execFileSync('chmod', ['0777', dir, bin]);
  const mark = path.join(bin, 'id-ran');
  // An `id` that leaves a mark and then answers as the real one.
  await writeFile(path.join(bin, 'id'), `#!/bin/sh\n: > ${mark}\nexec /usr/bin/id "$@"\n`, { mode: 0o755 });
  const original = path.join(dir, 'profile.orig');
  const edited = path.join(dir, 'profile');
  await writeFile(original, debianProfile, { mode: 0o644 });
  await writeFile(edited, profileWithoutIdCalls(debianProfile), { mode: 0o644 });

  for (const uid of [0, 1000]) {
    const before = pathAfter('bash', original, uid, mark);
    assert.equal(before.ranId, true, 'the original profile starts id');
    const inBash = pathAfter('bash', edited, uid, mark);
    assert.equal(inBash.path, before.path, `bash as uid ${uid}`);
    assert.equal(inBash.ranId, false, 'bash reads $EUID instead');
    const inSh = pathAfter('sh', edited, uid, mark);
    assert.equal(inSh.path, before.path, `sh as uid ${uid}`);
    assert.equal(inSh.ranId, true, 'sh has no $EUID and asks id');
  }
});

test("root's profile asks mesg only on a terminal and keeps the rest", () => {
  const text = '# ~/.profile\n\nif [ "$BASH" ]; then\n  . ~/.bashrc\nfi\n\nmesg n 2> /dev/null || true\n';
  const edited = rootProfileWithoutMesgCall(text);
  assert.equal(edited, '# ~/.profile\n\nif [ "$BASH" ]; then\n  . ~/.bashrc\nfi\n\nif [ -t 0 ]; then mesg n 2> /dev/null || true; fi\n');
  assert.equal(rootProfileWithoutMesgCall(edited), edited, 'a second edit changes nothing');
});

test('a root filesystem without these files or lines is left as it is', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'login-profile-root-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc'));
  await writeFile(path.join(root, 'etc', 'profile'), 'export PATH=/bin\n');
  await quickenLoginShells(root);
  assert.equal(await readFile(path.join(root, 'etc', 'profile'), 'utf8'), 'export PATH=/bin\n');
  assert.equal(existsSync(path.join(root, 'root', '.profile')), false);
});
