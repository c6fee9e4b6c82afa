import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

it('kills a command that passes its deadline, with the processes it started, and says so', async () => {
  const marker = `run-command-deadline-${process.pid}`;
  const t0 = Date.now();
  await assert.rejects(
    runCommand('sh', ['-c', `setsid sleep 30 ${marker} & sleep 31; echo late`], { timeoutMs: 300 }),
    /^Error: sh -c setsid sleep 30 \S+ & sleep 31; echo late failed \(did not finish within 0\.3 s and was killed with what it started\)/,
  );
  assert.ok(Date.now() - t0 < 10_000, 'the call returned at its deadline, not when the command would have ended');
  const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
  assert.deepEqual(left, [], 'the background sleep died with it, though in a session of its own');
  assert.equal(await runCommand('sh', ['-c', 'echo in time'], { timeoutMs: 5_000 }), 'in time\n');
});
