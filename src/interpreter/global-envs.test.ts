import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { envDiff, GlobalEnvs, isEmptyChange } from './global-envs.js';

test('the envs file is read when it appears or changes, and is empty when absent or broken', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'global-envs-'));
  try {
    const file = path.join(dir, 'envs.json');
    const envs = new GlobalEnvs(file);
    assert.deepEqual(envs.current(), {});
    const put = async (text: string) => {
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    };
    await put(JSON.stringify({ A: '1', E2B_SANDBOX: 'true', BAD: 3, 'X=Y': 'no' }));
    assert.deepEqual(envs.current(), { A: '1', E2B_SANDBOX: 'true' });
    const same = envs.current();
    assert.equal(envs.current(), same, 'an unchanged file is not parsed again');
    await put(JSON.stringify({ B: '2' }));
    assert.deepEqual(envs.current(), { B: '2' });
    await put('{broken');
    assert.deepEqual(envs.current(), {});
    await rm(file);
    assert.deepEqual(envs.current(), {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('envDiff sets what changed or appeared and unsets what went away', () => {
  assert.deepEqual(envDiff({ A: '1', B: '2', C: '3' }, { A: '1', B: 'two', D: '4' }), { set: { B: 'two', D: '4' }, unset: ['C'] });
  assert.ok(isEmptyChange(envDiff({ A: '1' }, { A: '1' })));
});
