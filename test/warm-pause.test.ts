// Warm pause through the unmodified novita-sandbox SDK: a paused sandbox's processes wait frozen in
// memory beside its whole checkpoint and a resume thaws them (the same host process); the oldest is
// evicted to its checkpoint past SANDCASTLE_WARM_PAUSED_MAX or under
// SANDCASTLE_WARM_PAUSED_MIN_FREE_MB; a server killed (SIGKILL) or stopped with warm-paused
// sandboxes leaves them paused cold. Each resumes with its files, memory and the connections
// inside the sandbox.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sandbox } from 'novita-sandbox';
import { disposeServer, type ServerProcess, startServerProcess, useServer, useTestServer } from './support/server-process.js';

// One warm sandbox at most: the second pause evicts the first.
const testServer = useTestServer({ env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_WARM_PAUSED_MAX: '1', SANDCASTLE_WARM_PAUSED_MIN_FREE_MB: '1' } });

/** What runc knows of the sandbox's container: its status and its init's host pid; undefined
 *  when it has none (a cold pause). */
function runcState(server: ServerProcess, id: string): { status: string; pid: number } | undefined {
  const root = server.env.SANDCASTLE_RUNC_ROOT!;
  if (!existsSync(path.join(root, id))) return undefined;
  const out = execFileSync(server.env.SANDCASTLE_RUNC ?? 'runc', ['--root', root, 'state', id], { encoding: 'utf8' });
  return JSON.parse(out) as { status: string; pid: number };
}

/** Starts a process holding a random value only in its memory, writing it with a counter; each
 *  count passes a byte over a loopback TCP connection it holds (a closed one ends it). */
async function startHolder(sbx: Sandbox): Promise<void> {
  const program = [
    'import os, socket, time',
    'secret = os.urandom(8).hex()',
    'server = socket.create_server(("127.0.0.1", 0))',
    'client = socket.create_connection(server.getsockname())',
    'peer, _ = server.accept()',
    'n = 0',
    'while True:',
    '    n += 1',
    "    client.sendall(b'x')",
    "    assert peer.recv(1) == b'x', 'the loopback connection was closed'",
    "    open('/tmp/holder.tmp', 'w').write(f'{os.getpid()} {secret} {n}')",
    "    os.replace('/tmp/holder.tmp', '/tmp/holder')",
    '    time.sleep(0.05)',
  ].join('\n');
  await sbx.files.write('/tmp/holder.py', program);
  await sbx.commands.run('python3 /tmp/holder.py', { background: true, timeoutMs: 0 });
  for (let i = 0; i < 100 && !(await sbx.files.exists('/tmp/holder')); i++) await sleep(50);
}

async function readHolder(sbx: Sandbox): Promise<{ pid: string; secret: string; n: number }> {
  const [pid, secret, n] = (await sbx.files.read('/tmp/holder')).split(' ');
  return { pid: pid!, secret: secret!, n: Number(n) };
}

/** The holder is the same process with the same memory, and it counts on. */
async function assertHolderGoesOn(sbx: Sandbox, before: { pid: string; secret: string }, why: string): Promise<void> {
  const first = await readHolder(sbx);
  let later = first;
  for (let i = 0; i < 60 && later.n <= first.n; i++) {
    await sleep(50);
    later = await readHolder(sbx);
  }
  assert.deepEqual([later.pid, later.secret], [before.pid, before.secret], `${why}: same process, same memory`);
  assert.ok(later.n > first.n, `${why}: it counts on`);
}

/** A sandbox with a file and a memory holder, and what they hold. */
async function prepared(): Promise<{ sbx: Sandbox; holder: { pid: string; secret: string } }> {
  const sbx = await Sandbox.create({ timeoutMs: 600_000 });
  await sbx.files.write('/home/user/kept.txt', `file of ${sbx.sandboxId}`);
  await startHolder(sbx);
  return { sbx, holder: await readHolder(sbx) };
}

async function assertIntact(sbx: Sandbox, holder: { pid: string; secret: string }, why: string): Promise<void> {
  assert.equal(await sbx.files.read('/home/user/kept.txt'), `file of ${sbx.sandboxId}`, `${why}: file`);
  await assertHolderGoesOn(sbx, holder, why);
}

describe('warm pause', () => {
  it('a pause leaves the processes frozen; the resume is a thaw of the same host process, memory and files intact', async () => {
    const server = testServer.current();
    const { sbx, holder } = await prepared();
    try {
      const pidBefore = runcState(server, sbx.sandboxId)!.pid;
      assert.equal(await sbx.betaPause(), true);
      assert.equal((await sbx.getInfo()).state, 'paused');
      const listed = await Sandbox.list({ query: { state: ['paused'] } }).nextItems();
      assert.deepEqual(listed.map((s) => [s.sandboxId, s.state]), [[sbx.sandboxId, 'paused']]);
      // Frozen (no CPU) in memory, with its checkpoint written all the same.
      const frozen = runcState(server, sbx.sandboxId);
      assert.deepEqual([frozen?.status, frozen?.pid], ['paused', pidBefore]);
      assert.ok(existsSync(path.join(server.dataDir, 'checkpoints', sbx.sandboxId)), 'the checkpoint is on disk');

      await sbx.connect();
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.equal(runcState(server, sbx.sandboxId)?.pid, pidBefore, 'thawed, not restored: the same init');
      assert.equal((await sbx.commands.run('true')).exitCode, 0);
      await assertIntact(sbx, holder, 'after a thaw');
    } finally {
      await sbx.kill();
    }
  });

  it('past the warm count the older paused sandbox is evicted: it stays paused and resumes intact from disk', async () => {
    const server = testServer.current();
    const older = await prepared();
    const newer = await prepared();
    try {
      const newerPid = runcState(server, newer.sbx.sandboxId)!.pid;
      await older.sbx.betaPause();
      await newer.sbx.betaPause();
      assert.equal(runcState(server, older.sbx.sandboxId), undefined, 'the older one has no processes left');
      assert.equal(runcState(server, newer.sbx.sandboxId)?.status, 'paused', 'the newer one is warm');
      assert.equal((await older.sbx.getInfo()).state, 'paused');
      assert.ok(/warm-paused sandbox \S+ evicted/.test(server.output()), 'the eviction is logged');

      await older.sbx.connect();
      await assertIntact(older.sbx, older.holder, 'evicted, then restored');
      await newer.sbx.connect();
      assert.equal(runcState(server, newer.sbx.sandboxId)?.pid, newerPid, 'the newer one was thawed');
      await assertIntact(newer.sbx, newer.holder, 'thawed');
    } finally {
      await Promise.all([older.sbx.kill(), newer.sbx.kill()]);
    }
  });

  it('with less memory available than SANDCASTLE_WARM_PAUSED_MIN_FREE_MB a paused sandbox is evicted at once, and resumes intact', async () => {
    const main = testServer.current();
    // More than any host has: the memory trigger always fires.
    const starved = await startServerProcess({ env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_WARM_PAUSED_MIN_FREE_MB: String(2 ** 30) } });
    try {
      useServer(starved);
      const { sbx, holder } = await prepared();
      await sbx.betaPause();
      assert.equal(runcState(starved, sbx.sandboxId), undefined, 'evicted before the pause answered');
      assert.match(starved.output(), /evicted \(\d+ MiB of memory available, under/);
      await sbx.connect();
      await assertIntact(sbx, holder, 'evicted for memory, then restored');
    } finally {
      await disposeServer(starved);
      useServer(main);
    }
  });

  for (const how of ['crash', 'stop'] as const) {
    it(`a server ${how === 'crash' ? 'killed (SIGKILL)' : 'stopped'} with a warm-paused sandbox: after its restart it is paused cold and resumes intact`, async () => {
      const { sbx, holder } = await prepared();
      try {
        await sbx.betaPause();
        const before = testServer.current();
        assert.equal(runcState(before, sbx.sandboxId)?.status, 'paused');
        await before[how]();
        if (how === 'stop') assert.equal(runcState(before, sbx.sandboxId), undefined, 'evicted at shutdown');
        testServer.replace(await startServerProcess({ dataDir: before.dataDir, env: { ...before.env, SANDCASTLE_PORT: new URL(before.url).port } }));
        const after = testServer.current();
        assert.equal(runcState(after, sbx.sandboxId), undefined, 'its frozen processes are gone');
        assert.equal((await sbx.getInfo()).state, 'paused');
        await sbx.connect();
        await assertIntact(sbx, holder, `after a ${how} and a restart`);
      } finally {
        await sbx.kill();
      }
      // The file's server disposal checks that no mount or loop device is left.
    });
  }
});
