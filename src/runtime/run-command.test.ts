import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runCommand } from './run-command.js';

it('returns what a tool prints and hands it its input', async () => {
  assert.equal(await runCommand('sh', ['-c', 'echo "$1"; cat', 'sh', 'first line'], { input: 'from stdin\n' }), 'first line\nfrom stdin\n');
  assert.equal(await runCommand('sh', ['-c', 'echo hidden'], { quiet: true }), '');
});

it('names the command, its status and the end of its stderr when it fails, or why it could not start', async () => {
  await assert.rejects(runCommand('sh', ['-c', 'echo one >&2; echo two >&2; exit 3']), /^Error: sh -c echo one >&2; echo two >&2; exit 3 failed \(exit status 3\): one \| two$/);
  await assert.rejects(runCommand('sh', ['-c', 'kill -TERM $$']), /failed \(signal SIGTERM\): \(no output\)/);
  await assert.rejects(runCommand('no-such-tool-here', []), /^Error: cannot run no-such-tool-here: spawn no-such-tool-here ENOENT$/);
});

it('runs many tools at once and answers each with its own output', async () => {
  const outs = await Promise.all(Array.from({ length: 40 }, (_, i) => runCommand('sh', ['-c', `sleep 0.0$((${i} % 5)); echo ${i}`])));
  assert.deepEqual(outs, Array.from({ length: 40 }, (_, i) => `${i}\n`));
});
