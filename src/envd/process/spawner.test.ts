import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import type { Readable } from 'node:stream';
import { helperPid, launch, launchWithNode, type Launched, type LaunchRequest } from './spawner.js';

const base: LaunchRequest = { file: '/bin/sh', args: [], env: { PATH: '/usr/bin:/bin' }, cwd: '/', stdin: false };

async function text(stream: Readable | null): Promise<string> {
  let out = '';
  for await (const chunk of stream!) out += chunk;
  return out;
}

async function run(request: Partial<LaunchRequest>, start = launch): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null; pid: number }> {
  const p = await start({ ...base, ...request });
  const ended = once(p, 'exit') as Promise<[number | null, string | null]>;
  const [stdout, stderr, [code, signal]] = await Promise.all([text(p.stdout), text(p.stderr), ended]);
  return { stdout, stderr, code, signal, pid: p.pid! };
}

test('envd starts processes through its helper, not by forking itself', async () => {
  const r = await run({ args: ['-c', 'echo $PPID'] });
  assert.equal(Number(r.stdout), helperPid());
  assert.notEqual(helperPid(), process.pid);
});

for (const [how, start] of [['the helper', launch], ["Node's spawn (while the helper is missing)", launchWithNode]] as const) {
  test(`a process gets its own session, ids, groups, folder, environment and exit status through ${how}`, async () => {
    const r = await run({
      args: ['-c', 'ps -o sid= -p $$; id -u; id -g; id -G; pwd; echo "$GREETING"; echo oops >&2; exit 3'],
      env: { PATH: '/usr/bin:/bin', GREETING: 'hello there' },
      cwd: '/tmp',
      ids: { uid: 4242, gid: 4243, groups: [4244, 4245] },
    }, start);
    const [sid, uid, gid, groups, cwd, greeting] = r.stdout.trim().split('\n').map((l) => l.trim());
    assert.equal(Number(sid), r.pid, 'session leader');
    assert.equal(uid, '4242');
    assert.equal(gid, '4243');
    assert.deepEqual(groups!.split(' ').sort(), ['4243', '4244', '4245']);
    assert.equal(cwd, '/tmp');
    assert.equal(greeting, 'hello there');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.code, 3);
    assert.equal(r.signal, null);
  });
}

test("a file without a slash is looked up in the process's own PATH", async () => {
  const r = await run({ file: 'echo', args: ['found'], env: { PATH: '/nonexistent:/bin' } });
  assert.equal(r.stdout, 'found\n');
  await assert.rejects(launch({ ...base, file: 'echo', env: { PATH: '/nonexistent' } }), { code: 'ENOENT', message: 'spawn echo ENOENT' });
});

test('what cannot start is an error named like Node names it, and leaves no connection', async () => {
  await assert.rejects(launch({ ...base, file: '/no/such/program' }), { code: 'ENOENT', message: 'spawn /no/such/program ENOENT' });
  await assert.rejects(launch({ ...base, cwd: '/no/such/folder' }), { code: 'ENOENT' });
  await assert.rejects(launch({ ...base, file: '/etc/passwd' }), { code: 'EACCES' });
  assert.equal(openSockets(helperPid()!), 0, 'the helper keeps no stdio connection');
});

test('a signal that ends a process is reported by name', async () => {
  const p = await launch({ ...base, args: ['-c', 'kill -TERM $$'] });
  const [code, signal] = await once(p, 'exit');
  assert.equal(code, null);
  assert.equal(signal, 'SIGTERM');
});

test('input reaches the process and its end is an end of file', async () => {
  const p = await launch({ ...base, file: '/bin/cat', stdin: true });
  const out = text(p.stdout);
  p.stdin!.write('one\n');
  p.stdin!.end('two\n');
  assert.equal(await out, 'one\ntwo\n');
  assert.deepEqual(await once(p, 'exit'), [0, null]);
});

test('the end of processes that exit at once is never lost', async () => {
  const ends = await Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      const p: Launched = await launch({ ...base, file: '/bin/true', stdin: i % 2 === 0 });
      p.stdout!.resume();
      p.stderr!.resume();
      p.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((r) => (timer = setTimeout(() => r('no end after 10 s'), 10_000)));
      return Promise.race([once(p, 'exit'), late]).finally(() => clearTimeout(timer));
    }),
  );
  assert.deepEqual(ends.filter((e) => JSON.stringify(e) !== '[0,null]'), []);
});

test("a stranger's connection to the stdio socket is dropped", async () => {
  const name = socketName(helperPid()!);
  const stranger = net.connect(`\0${name}`);
  stranger.on('error', () => undefined);
  stranger.write(`${'0'.repeat(32)} 1 1\n`);
  await once(stranger, 'close');
  const r = await run({ args: ['-c', 'echo still fine'] });
  assert.equal(r.stdout, 'still fine\n');
});

test('when the helper dies, running processes end with status -1 and new ones still start', async () => {
  const p = await launch({ ...base, args: ['-c', 'sleep 0.5'] });
  process.kill(helperPid()!, 'SIGKILL');
  const [code] = await once(p, 'exit');
  assert.equal(code, -1);
  const r = await run({ args: ['-c', 'echo after'] });
  assert.equal(r.stdout, 'after\n');
  assert.equal(r.code, 0);
});

/** Sockets among a process's descriptors, past its stdio (which are sockets from Node). */
function openSockets(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    if (Number(fd) <= 2) return false;
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

/** The helper's stdio socket name, from its command line. */
function socketName(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1]!;
}
