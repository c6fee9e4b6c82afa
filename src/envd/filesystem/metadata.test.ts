import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Helper, MetadataError, readMetadata, writeMetadata } from './metadata.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'envd-metadata-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Pids of this process's running xattr helpers. */
function helperPids(): number[] {
  const children = readdirSync('/proc/self/task').flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  return children.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'xattr';
    } catch {
      return false;
    }
  });
}

function file(name: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, name);
  return p;
}

it('concurrent writes and reads each get their own files\' metadata, from one helper process', async () => {
  const files = Array.from({ length: 20 }, (_, i) => file(`f${i}`));
  await Promise.all(files.map((f, i) => writeMetadata(f, { owner: `n${i}`, empty: '' })));
  const [pid] = helperPids();
  const answers = await Promise.all(files.map((f) => readMetadata([f, path.join(dir, 'missing')])));
  answers.forEach((metas, i) => assert.deepEqual(metas, [{ owner: `n${i}`, empty: '' }, undefined]));
  assert.deepEqual(helperPids(), [pid], 'the same helper answered every call');
  assert.deepEqual(await readMetadata([file('plain'), ...files.slice(0, 2)]), [undefined, { owner: 'n0', empty: '' }, { owner: 'n1', empty: '' }]);
});

it('a metadata write that fails says which file, and the next calls still work', async () => {
  const missing = path.join(dir, 'no-such-dir', 'f');
  await assert.rejects(writeMetadata(missing, { a: '1' }), (err: Error) => err instanceof MetadataError && err.message.includes(missing));
  const f = file('after-failure');
  await writeMetadata(f, { a: '1' });
  assert.deepEqual(await readMetadata([f]), [{ a: '1' }]);
});

it('a helper that was killed is started again at the next call', async () => {
  const f = file('restart');
  await writeMetadata(f, { kept: 'yes' });
  const [pid] = helperPids();
  assert.ok(pid, 'a helper is running');
  execFileSync('kill', ['-9', String(pid)]);
  for (let i = 0; i < 100 && helperPids().includes(pid!); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await readMetadata([f]), [{ kept: 'yes' }]);
  const [next] = helperPids();
  assert.ok(next !== undefined && next !== pid, 'a new helper answered');
});

it('an idle helper does not keep its process running', () => {
  const f = file('exit');
  const script = `import { readMetadata } from ${JSON.stringify(path.resolve('src/envd/filesystem/metadata.ts'))};\nconsole.log(JSON.stringify(await readMetadata([${JSON.stringify(f)}])));`;
  // Kept alive, the process would wait for the helper's idle end (30 s) and be killed here.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.trim(), '[null]');
});

it('the helper still answers one request given as arguments, as an envd from before an upgrade asks', () => {
  const helper = fileURLToPath(new URL('../../../dist/sandbox/xattr', import.meta.url));
  const f = file('one-shot');
  execFileSync(helper, ['set', f, 'k', 'v', 'empty', '']);
  assert.equal(execFileSync(helper, ['get', path.join(dir, 'missing'), f], { encoding: 'utf8' }), '1\0k\0v\0' + '1\0empty\0\0');
  assert.throws(() => execFileSync(helper, ['set', path.join(dir, 'missing'), 'k', 'v'], { stdio: 'pipe' }), /setting metadata on .*missing/);
});

it('a helper answer that cannot be read ends that helper and fails the calls waiting on it', async () => {
  const cases = [
    { answer: 'bogus', says: /answered 'bogus', neither ok nor error/ },
    { answer: 'ok many', says: /'many' for the count/ },
  ];
  for (const { answer, says } of cases) {
    const fake = path.join(dir, 'fake-helper');
    // Answers the first request wrongly, then the way a good helper would: read on, the second
    // call would get what is left of the first answer.
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\000' ${answer} ok 0\nexec cat >/dev/null\n`, { mode: 0o755 });
    const helper = new Helper(fake);
    const calls = [helper.request(['get', '1', 'a']), helper.request(['get', '1', 'b'])];
    for (const call of calls) await assert.rejects(call, (err: Error) => err instanceof MetadataError && says.test(err.message));
    assert.equal(helper.ended, true);
    await assert.rejects(helper.request(['get', '1', 'c']), /has ended/);
  }
});
