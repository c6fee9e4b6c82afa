// Pause and resume with memory, auto-pause, auto-resume, idle timeout, clone and snapshots through
// the unmodified novita-sandbox SDK.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox, SandboxNotFoundError } from 'novita-sandbox';
import { startMemoryHash } from './support/memory-hash.js';
import { startServerProcess, useTestServer } from './support/server-process.js';

// Pauses here are cold (every resume a restore from the checkpoint); warm-pause.test.ts has warm ones.
const testServer = useTestServer({ env: { SANDCASTLE_MIN_IDLE_TIMEOUT: '2', SANDCASTLE_WARM_PAUSED_MAX: '0' } });

/** Waits (up to `tries` × 100 ms) until `file` exists in the sandbox. */
async function untilExists(sbx: Sandbox, file: string, tries: number): Promise<void> {
  for (let i = 0; i < tries && !(await sbx.files.exists(file)); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Runs `lines` as a Python program in the background and waits until it has written `readyFile`. */
async function startPython(sbx: Sandbox, name: string, lines: string[], readyFile: string, tries: number): Promise<void> {
  await sbx.files.write(`/tmp/${name}.py`, lines.join('\n'));
  await sbx.commands.run(`python3 /tmp/${name}.py`, { background: true });
  await untilExists(sbx, readyFile, tries);
}

/** Starts a Python process that keeps a random value only in its memory and writes a counter. */
async function startMemoryHolder(sbx: Sandbox): Promise<void> {
  const lines = [
    'import os, time',
    'secret = os.urandom(8).hex()',
    'n = 0',
    'while True:',
    '    n += 1',
    "    open('/tmp/holder.tmp', 'w').write(f'{os.getpid()} {secret} {n}')",
    "    os.replace('/tmp/holder.tmp', '/tmp/holder')",
    '    time.sleep(0.1)',
  ];
  await startPython(sbx, 'holder', lines, '/tmp/holder', 50);
}

async function readHolder(sbx: Sandbox): Promise<{ pid: string; secret: string; n: number }> {
  const [pid, secret, n] = (await sbx.files.read('/tmp/holder')).split(' ');
  return { pid: pid!, secret: secret!, n: Number(n) };
}

/** Runs `setup` as root in a new sandbox, asserts that what `look` prints (as root) is the same
 *  after a pause and resume, and returns it. */
async function sameAfterPause(setup: string, look: string): Promise<string> {
  const sbx = await Sandbox.create();
  try {
    await sbx.commands.run(setup, { user: 'root' });
    const print = async () => (await sbx.commands.run(look, { user: 'root' })).stdout;
    const before = await print();
    await sbx.betaPause();
    await sbx.connect();
    assert.equal(await print(), before);
    return before;
  } finally {
    await sbx.kill();
  }
}

/** envd's anonymous resident memory, read from inside the sandbox. */
async function envdAnonKiB(sbx: Sandbox): Promise<number> {
  const status = await sbx.commands.run('for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = node ] && grep -qs envd.mjs $p/cmdline && grep RssAnon $p/status; done');
  const kib = Number(/RssAnon:\s+(\d+) kB/.exec(status.stdout)?.[1]);
  assert.ok(kib > 0, `envd's anonymous memory not found: ${status.stdout}`);
  return kib;
}

describe('pause and resume', () => {
  it('keeps processes, their memory and files across a pause, and the same process goes on counting', async () => {
    const sbx = await Sandbox.create();
    try {
      await startMemoryHolder(sbx);
      await sbx.files.write('/home/user/kept.txt', 'file survives');
      const before = await readHolder(sbx);

      assert.equal(await sbx.betaPause(), true);
      const listed = await Sandbox.list({ query: { state: ['paused'] } }).nextItems();
      assert.deepEqual(listed.map((s) => [s.sandboxId, s.state]), [[sbx.sandboxId, 'paused']]);
      assert.equal((await sbx.getInfo()).state, 'paused');
      assert.equal(await sbx.betaPause(), false, 'a second pause finds it already paused');

      const resumed = await sbx.connect();
      assert.equal(resumed.sandboxId, sbx.sandboxId);
      assert.equal((await sbx.getInfo()).state, 'running');
      // The counter may have moved on after `before` until the freeze: only a count past the one
      // found at resume shows the restored process running.
      const atResume = await readHolder(sbx);
      let after = atResume;
      for (let i = 0; i < 50 && after.n <= atResume.n; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await readHolder(sbx);
      }
      assert.equal(after.pid, before.pid, 'same process');
      assert.equal(after.secret, before.secret, 'same memory');
      assert.ok(after.n > atResume.n && atResume.n >= before.n, `the counter went on: ${before.n} → ${atResume.n} → ${after.n}`);
      assert.equal(await sbx.files.read('/home/user/kept.txt'), 'file survives');
      const ps = await sbx.commands.run(`ps -o pid= -p ${after.pid}`);
      assert.equal(ps.stdout.trim(), after.pid);
    } finally {
      await sbx.kill();
    }
  });

  it('keeps every byte of a large memory (its image passes the page cache past 128 MiB)', async () => {
    const sbx = await Sandbox.create();
    try {
      const memory = await startMemoryHash(sbx, 200);
      await sbx.betaPause();
      await sbx.connect();
      assert.equal(await memory.now(), memory.before);
    } finally {
      await sbx.kill();
    }
  });

  it('leaves no freed output of a command in memory for a pause to save (envd gives it back)', async () => {
    const sbx = await Sandbox.create();
    try {
      const before = await envdAnonKiB(sbx);
      const out = await sbx.commands.run('head -c 48000000 /dev/zero | base64');
      assert.ok(out.stdout.length > 64_000_000, `the command streamed ${out.stdout.length} characters`);
      // Kept by glibc, the output's freed buffers made envd grow by 10-57 MiB; given back, by 2.
      const grown = (await envdAnonKiB(sbx)) - before;
      assert.ok(grown < 8 * 1024, `envd grew by ${grown} KiB of anonymous memory with the output`);
      await sbx.betaPause();
      await sbx.connect();
      assert.equal((await sbx.commands.run('echo back')).stdout, 'back\n');
    } finally {
      await sbx.kill();
    }
  });

  it('leaves no freed file transfer in memory for a pause to save (envd gives it back)', async () => {
    const sbx = await Sandbox.create();
    try {
      const before = await envdAnonKiB(sbx);
      const data = new Uint8Array(64 * 1024 * 1024).fill(7);
      await sbx.files.write('/tmp/big', new Blob([data]));
      const back = await sbx.files.read('/tmp/big', { format: 'bytes' });
      assert.equal(back.length, data.length);
      // Kept until the next command's end, the transfer's freed buffers made envd grow by 17-22 MiB.
      const grown = (await envdAnonKiB(sbx)) - before;
      assert.ok(grown < 8 * 1024, `envd grew by ${grown} KiB of anonymous memory with the transfer`);
    } finally {
      await sbx.kill();
    }
  });

  it('keeps the mode and owner of an empty /dev/shm and the files of /dev (tmpfs mounts)', async () => {
    // An empty tmpfs is saved without tar (scripts/criu/tmpfs-tree-without-tar.patch).
    const before = await sameAfterPause('chmod 700 /dev/shm && chown 1000:1000 /dev/shm && touch /dev/kept', 'stat -c "%a %u %g" /dev/shm /dev/kept');
    assert.equal(before.split('\n')[0], '700 1000 1000');
  });

  it('keeps the files, folders and links of a tmpfs with their modes, owners and times', async () => {
    const before = await sameAfterPause(
      [
        'mkdir -p /dev/shm/a/b && chmod 711 /dev/shm/a && printf "some\\ncontent" > /dev/shm/a/b/file',
        'chown 1000:0 /dev/shm/a/b/file && chmod 4750 /dev/shm/a/b/file && ln -s ../elsewhere /dev/shm/a/link',
        'touch -d "2001-02-03 04:05:06.789" /dev/shm/a/b/file /dev/shm/a/b && touch -h -d "2002-01-01" /dev/shm/a/link',
      ].join(' && '),
      '(find /dev/shm; find /dev -maxdepth 1 -type l) | xargs stat -c "%n %A %u %g %y %N" | sort; cat /dev/shm/a/b/file',
    );
    assert.match(before, /\/dev\/shm\/a\/b\/file -rwsr-x--- 1000 0 2001-02-03 04:05:06\.789/);
    assert.match(before, /\/dev\/shm\/a\/link lrwxrwxrwx 0 0 2002-01-01 00:00:00\.0+ \+0000 '\/dev\/shm\/a\/link' -> '\.\.\/elsewhere'/);
    assert.match(before, /\/dev\/stdin lrwxrwxrwx/);
  });

  it('keeps a tmpfs too deep for CRIU\'s own format (saved by tar)', async () => {
    const deep = `/dev/shm/${Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')}`;
    const before = await sameAfterPause(`mkdir -p ${deep} && echo bottom > ${deep}/file && chmod 600 ${deep}/file`, `find /dev/shm | wc -l; stat -c "%a %s" ${deep}/file; cat ${deep}/file`);
    assert.equal(before, '42\n600 7\nbottom\n');
  });

  it('pauses, resumes and clones a sandbox whose process watches a folder and a file (inotify)', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/home/user/app/index.js', 'v1');
      const watcher = [
        "const fs = require('node:fs');",
        "const seen = (what) => (event, name) => fs.appendFileSync('/tmp/seen', `${what} ${name}\\n`);",
        "fs.watch('/home/user/app', seen('folder'));",
        "fs.watch('/home/user/app/index.js', seen('file'));",
        "fs.writeFileSync('/tmp/watching', '');",
        'setInterval(() => {}, 1000);',
      ];
      await sbx.files.write('/tmp/watcher.js', watcher.join('\n'));
      await sbx.commands.run('/opt/sandcastle/node /tmp/watcher.js', { background: true });
      await untilExists(sbx, '/tmp/watching', 50);
      const seenAfter = async (box: Sandbox, change: string, expected: string[]) => {
        await box.commands.run(change);
        let seen = '';
        for (let i = 0; i < 50 && !expected.every((line) => seen.includes(line)); i++) {
          await new Promise((r) => setTimeout(r, 100));
          seen = (await box.commands.run('cat /tmp/seen || true')).stdout;
        }
        for (const line of expected) assert.ok(seen.includes(line), `"${line}" after: ${change}; seen:\n${seen}`);
      };

      await sbx.betaPause();
      await sbx.connect();
      await seenAfter(sbx, 'touch /home/user/app/after-resume.js; echo v2 >> /home/user/app/index.js', ['folder after-resume.js', 'file index.js']);

      const { sandboxes: [clone] } = await Sandbox.clone(sbx.sandboxId, { count: 1 });
      try {
        await seenAfter(clone!, 'touch /home/user/app/in-clone.js', ['folder in-clone.js']);
      } finally {
        await clone!.kill();
      }
    } finally {
      await sbx.kill();
    }
  });

  it('resets the timeout to 5 minutes on resume unless connect gives one', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 60_000 });
    try {
      await sbx.betaPause();
      await Sandbox.connect(sbx.sandboxId);
      const left = (await sbx.getInfo()).endAt.getTime() - Date.now();
      assert.ok(left > 290_000 && left <= 300_000, `${left} ms left`);
      await sbx.betaPause();
      await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000 });
      const left2 = (await sbx.getInfo()).endAt.getTime() - Date.now();
      assert.ok(left2 > 50_000 && left2 <= 60_000, `${left2} ms left`);
    } finally {
      await sbx.kill();
    }
  });

  it('kills a paused sandbox with its checkpoint, after which resume is not found', async () => {
    const sbx = await Sandbox.create();
    await sbx.betaPause();
    assert.ok(existsSync(`${testServer.current().dataDir}/checkpoints/${sbx.sandboxId}`));
    await sbx.kill();
    assert.ok(!existsSync(`${testServer.current().dataDir}/checkpoints/${sbx.sandboxId}`));
    assert.ok(!existsSync(`${testServer.current().dataDir}/sandboxes/${sbx.sandboxId}`));
    await assert.rejects(Sandbox.connect(sbx.sandboxId), SandboxNotFoundError);
  });

  it('pausing an unknown sandbox is not found; two concurrent pauses do one pause', async () => {
    await assert.rejects(Sandbox.betaPause('nosuchsandbox000000'), SandboxNotFoundError);
    const sbx = await Sandbox.create();
    try {
      const results = await Promise.all([sbx.betaPause(), sbx.betaPause()]);
      assert.deepEqual(results.sort(), [false, true]);
      const [a, b] = await Promise.all([Sandbox.connect(sbx.sandboxId), Sandbox.connect(sbx.sandboxId)]);
      assert.equal(a.sandboxId, b.sandboxId);
      assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
    } finally {
      await sbx.kill();
    }
  });
});

describe('automatic pause, resume and idle timeout', () => {
  it('auto-pause pauses at the deadline instead of killing, and stays on after resume', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 2_000, lifecycle: { onTimeout: 'pause' } });
    try {
      await new Promise((r) => setTimeout(r, 3_500));
      assert.equal((await sbx.getInfo()).state, 'paused');
      await Sandbox.connect(sbx.sandboxId, { timeoutMs: 2_000 });
      assert.equal((await sbx.getInfo()).state, 'running');
      await new Promise((r) => setTimeout(r, 3_500));
      assert.equal((await sbx.getInfo()).state, 'paused');
    } finally {
      await sbx.kill();
    }
  });

  it('auto-resume resumes a paused sandbox on the next command, and the command succeeds', async () => {
    const sbx = await Sandbox.create({ metadata: { auto_resume: 'true' } });
    try {
      await sbx.betaPause();
      const r = await sbx.commands.run('echo resumed');
      assert.equal(r.stdout, 'resumed\n');
      assert.equal((await sbx.getInfo()).state, 'running');
    } finally {
      await sbx.kill();
    }
  });

  it('without auto-resume, a command on a paused sandbox fails', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.betaPause();
      await assert.rejects(sbx.commands.run('echo no'));
      assert.equal((await sbx.getInfo()).state, 'paused');
    } finally {
      await sbx.kill();
    }
  });

  it('idle timeout kills a sandbox with no traffic, while traffic keeps it alive', async () => {
    const idle = await Sandbox.create({ metadata: { idle_timeout: '2' } });
    const busy = await Sandbox.create({ metadata: { idle_timeout: '2' } });
    for (let i = 0; i < 8; i++) {
      await busy.commands.run('true');
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(await busy.isRunning(), true);
    await assert.rejects(Sandbox.getInfo(idle.sandboxId), SandboxNotFoundError);
    await busy.kill();
  });

  it('rejects an idle timeout below the minimum', async () => {
    await assert.rejects(Sandbox.create({ metadata: { idle_timeout: '1' } }), /idle_timeout/);
  });
});

describe('clone and snapshots', () => {
  it('clones a running sandbox: same files and memory, new ids and tokens, own layers; the source runs on', async () => {
    const src = await Sandbox.create({ envs: { ORIGIN: 'source' } });
    try {
      await startMemoryHolder(src);
      const before = await readHolder(src);
      const { sandboxes: clones } = await Sandbox.clone(src.sandboxId, { count: 2 });
      assert.equal(clones.length, 2);
      const ids = new Set([src.sandboxId, ...clones.map((c) => c.sandboxId)]);
      assert.equal(ids.size, 3);
      for (const clone of clones) {
        const state = await readHolder(clone);
        assert.equal(state.secret, before.secret, 'the clone has the source memory');
        assert.equal(state.pid, before.pid, 'the same process, restored');
        const env = await clone.commands.run('echo $ORIGIN $E2B_SANDBOX_ID $(hostname)');
        assert.equal(env.stdout, `source ${clone.sandboxId} ${clone.sandboxId}\n`);
        await clone.files.write('/tmp/only-here', clone.sandboxId);
      }
      assert.equal(await src.files.exists('/tmp/only-here'), false, 'clones have their own writable layer');
      assert.equal(await clones[0]!.files.read('/tmp/only-here'), clones[0]!.sandboxId);
      assert.equal((await src.commands.run('echo source alive')).stdout, 'source alive\n');
      await Promise.all(clones.map((c) => c.kill()));
    } finally {
      await src.kill();
    }
  });

  it('clones a paused sandbox with the default timeout', async () => {
    const src = await Sandbox.create({ timeoutMs: 60_000 });
    try {
      await src.files.write('/tmp/mark', 'paused source');
      await src.betaPause();
      const { sandboxes: clones } = await Sandbox.clone(src.sandboxId, { count: 1 });
      const clone = clones[0]!;
      assert.equal(await clone.files.read('/tmp/mark'), 'paused source');
      const left = (await clone.getInfo()).endAt.getTime() - Date.now();
      assert.ok(left > 290_000, `${left} ms left`);
      assert.equal((await src.getInfo()).state, 'paused');
      await clone.kill();
    } finally {
      await src.kill();
    }
  });

  it('rejects a clone count below 1 or above the limit', async () => {
    const src = await Sandbox.create();
    try {
      for (const count of [0, 21]) {
        await assert.rejects(Sandbox.clone(src.sandboxId, { count }), /count must be a whole number between 1 and 20/);
      }
      await assert.rejects(Sandbox.clone('nosuchsandbox000000', { count: 1 }), SandboxNotFoundError);
    } finally {
      await src.kill();
    }
  });

  it('creates sandboxes from a snapshot as many times as wanted, lists and deletes it', async () => {
    const src = await Sandbox.create();
    try {
      await startMemoryHolder(src);
      const { secret } = await readHolder(src);
      const { snapshotId } = await src.createSnapshot();
      const listed = await Sandbox.listSnapshots({ sandboxId: src.sandboxId }).nextItems();
      assert.deepEqual(listed.map((s) => s.snapshotId), [snapshotId]);
      for (let i = 0; i < 2; i++) {
        const fromSnapshot = await Sandbox.create(snapshotId);
        assert.equal((await readHolder(fromSnapshot)).secret, secret);
        await fromSnapshot.kill();
      }
      assert.equal(await Sandbox.deleteSnapshot(snapshotId), true);
      assert.equal(await Sandbox.deleteSnapshot(snapshotId), false);
      await assert.rejects(Sandbox.create(snapshotId), /not found/);
    } finally {
      await src.kill();
    }
  });

  it('snapshots taken while commands start all succeed', async () => {
    // Each start connects the command's stdio to envd: for a moment an unaccepted connection
    // holds data, which CRIU cannot save (this failed ~1 snapshot in 8 before dumps were retried).
    const src = await Sandbox.create();
    const made: string[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const command = src.commands.run(`echo ${i}`);
        // Offsets that move the dump across the start's steps.
        await new Promise((r) => setTimeout(r, i % 4));
        const [run, snapshot] = await Promise.allSettled([command, src.createSnapshot()]);
        if (snapshot.status === 'rejected') assert.fail(`snapshot ${i}: ${snapshot.reason}`);
        made.push(snapshot.value.snapshotId);
        assert.equal(run.status === 'fulfilled' && run.value.stdout, `${i}\n`);
      }
    } finally {
      for (const id of made) await Sandbox.deleteSnapshot(id);
      await src.kill();
    }
  });
});

describe('faults during pause and resume', () => {
  it('a checkpoint that fails half way (disk full) leaves the sandbox running', async () => {
    const sbx = await Sandbox.create();
    const checkpoints = `${testServer.current().dataDir}/checkpoints`;
    mkdirSync(checkpoints, { recursive: true });
    // A 1 MiB filesystem where checkpoints are written: the dump runs out of space.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', checkpoints]);
    try {
      await assert.rejects(sbx.betaPause(), /pausing sandbox '\w+' failed, it keeps running/);
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.equal((await sbx.commands.run('echo still running')).stdout, 'still running\n');
    } finally {
      execFileSync('umount', [checkpoints]);
      await sbx.kill();
    }
  });

  it('a restore that fails keeps the checkpoint and the sandbox paused, with an error that says why', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.betaPause();
      const image = `${testServer.current().dataDir}/checkpoints/${sbx.sandboxId}/image`;
      const pstree = `${image}/pstree.img`;
      renameSync(pstree, `${pstree}.aside`);
      await assert.rejects(sbx.connect(), /resuming sandbox '\w+' failed, it stays paused: .*criu/);
      assert.equal((await sbx.getInfo()).state, 'paused');
      renameSync(`${pstree}.aside`, pstree);
      await sbx.connect();
      assert.equal((await sbx.commands.run('echo back')).stdout, 'back\n');
    } finally {
      await sbx.kill();
    }
  });

  it('a server started over live sandboxes with another SANDCASTLE_NETWORK_CIDR refuses to start, naming their range', async () => {
    const sbx = await Sandbox.create();
    const before = testServer.current();
    await before.stop();
    const recorded = before.env.SANDCASTLE_NETWORK_CIDR!.replace(/\./g, '\\.');
    await assert.rejects(
      startServerProcess({ dataDir: before.dataDir, env: { ...before.env, SANDCASTLE_NETWORK_CIDR: '10.250.0.0/16' } }),
      new RegExp(`exited with 1 before listening:[^]*SANDCASTLE_NETWORK_CIDR is 10\\.250\\.0\\.0/16, but the \\d+ sandbox\\(es\\) in \\S+ \\(the warm pool's included\\) have addresses in ${recorded}`),
    );
    testServer.replace(await startServerProcess({ dataDir: before.dataDir, env: { ...before.env, SANDCASTLE_PORT: new URL(before.url).port } }));
    assert.equal((await sbx.commands.run('echo still here')).stdout, 'still here\n');
    await sbx.kill();
  });

  it('a paused sandbox stays resumable across a server killed with SIGKILL', async () => {
    const sbx = await Sandbox.create();
    await startMemoryHolder(sbx);
    const before = await readHolder(sbx);
    await sbx.betaPause();
    const crashed = testServer.current();
    await crashed.crash();
    testServer.replace(
      await startServerProcess({
        dataDir: crashed.dataDir,
        env: { ...crashed.env, SANDCASTLE_PORT: new URL(crashed.url).port },
      }),
    );
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
    await sbx.connect();
    const after = await readHolder(sbx);
    assert.equal(after.secret, before.secret);
    assert.equal(after.pid, before.pid);
    await sbx.kill();
  });
});
