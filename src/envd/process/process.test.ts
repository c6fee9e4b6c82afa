import { Code, ConnectError } from '@connectrpc/connect';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Signal } from '../gen/envd/process_pb.js';
import { collect, startEnvd, sudoGid, userGid, userUid, type Envd } from '../test-harness.js';

let envd: Envd;
before(async () => {
  envd = await startEnvd();
});
after(async () => {
  await envd.stop();
});

const bash = (cmd: string, extra: { envs?: Record<string, string>; cwd?: string } = {}) => ({
  cmd: '/bin/bash',
  args: ['-l', '-c', cmd],
  envs: extra.envs ?? {},
  cwd: extra.cwd,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function firstEvent<T>(iterator: AsyncIterator<T>): Promise<T> {
  const { value, done } = await iterator.next();
  assert.equal(done, false);
  return value;
}

/** Running (a zombie waiting for its parent to reap it counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('Start', () => {
  test('streams start, output and a clean end for the default user', async () => {
    const r = await collect(envd.process.start({ process: bash('echo out; echo err >&2; id -u; id -G; pwd'), stdin: false }));
    assert.equal(r.order[0], 'start');
    assert.equal(r.order.at(-1), 'end');
    assert.ok(r.pid > 0);
    const [out, uid, groups, cwd] = r.stdout.trim().split('\n');
    assert.equal(out, 'out');
    assert.equal(r.stderr, 'err\n');
    assert.equal(uid, String(userUid));
    assert.deepEqual(groups!.split(' ').map(Number).sort(), [userGid, sudoGid].sort());
    assert.equal(cwd, envd.home);
    assert.deepEqual(
      { exitCode: r.end?.exitCode, exited: r.end?.exited, status: r.end?.status, hasError: 'error' in r.end! },
      { exitCode: 0, exited: true, status: 'exit status 0', hasError: false },
    );
  });

  test('output events end on character boundaries (novita-sandbox decodes each one on its own)', async () => {
    // `yes` writes 4 KiB at a time, wherever that cuts the text.
    const r = await collect(envd.process.start({ process: bash('yes 中文 | head -n 50000'), stdin: false }));
    assert.ok(!r.stdout.includes('\ufffd'), 'a character was split between two events');
    assert.equal(r.stdout, '中文\n'.repeat(50_000));
  });

  test('bytes that are not text are sent as they are, an unfinished character too', async () => {
    const r = await collect(envd.process.start({ process: bash("printf 'a\\xe4\\xb8'; sleep 0.3; printf '\\xff'"), stdin: false }));
    assert.deepEqual(r.stdoutChunks[0], Buffer.from([0x61]), 'the text before the unfinished character is not held back');
    assert.deepEqual(Buffer.concat(r.stdoutChunks), Buffer.from([0x61, 0xe4, 0xb8, 0xff]));
  });

  test('a failing command reports its exit status like Go does', async () => {
    const r = await collect(envd.process.start({ process: bash('exit 3'), stdin: false }));
    assert.equal(r.end?.exitCode, 3);
    assert.equal(r.end?.exited, true);
    assert.equal(r.end?.status, 'exit status 3');
    assert.equal(r.end?.error, 'exit status 3');
  });

  test('environment: base, then global /init vars, then per-command envs', async () => {
    const { process: rootProc } = envd.clients({ user: 'root' });
    const r = await collect(rootProc.start({ process: { cmd: '/usr/bin/env', args: [], envs: { OWN: 'own' } }, stdin: false }));
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      'GLOBAL_VAR=global',
      'HOME=/root',
      'LANG=C.UTF-8',
      'LOGNAME=root',
      'OWN=own',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'SHELL=/bin/bash',
      'USER=root',
    ]);
    const overridden = await collect(envd.process.start({ process: bash('echo $GLOBAL_VAR', { envs: { GLOBAL_VAR: 'mine' } }) }));
    assert.equal(overridden.stdout, 'mine\n');
  });

  test('cwd: relative to home, ~, and a missing one is invalid_argument', async () => {
    const r = await collect(envd.process.start({ process: bash('pwd', { cwd: '/tmp' }) }));
    assert.equal(r.stdout, '/tmp\n');
    const tilde = await collect(envd.process.start({ process: bash('pwd', { cwd: '~' }) }));
    assert.equal(tilde.stdout, `${envd.home}\n`);
    await assert.rejects(collect(envd.process.start({ process: bash('pwd', { cwd: '/does/not/exist' }) })), (err: ConnectError) => {
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.message, /\/does\/not\/exist/);
      return true;
    });
  });

  test('output is streamed as it comes, not at the end', async () => {
    const it = envd.process.start({ process: bash('echo first; sleep 1; echo second') })[Symbol.asyncIterator]();
    await firstEvent(it); // start
    const t0 = Date.now();
    const data = await firstEvent(it);
    assert.equal(data.event?.event.case, 'data');
    assert.ok(Date.now() - t0 < 800, 'first line arrived before the command finished');
    for (;;) if ((await it.next()).done) break;
  });

  test('stdin: false gives EOF at once; stdin: true takes SendInput and CloseStdin', async () => {
    const closed = await collect(envd.process.start({ process: bash('cat; echo done'), stdin: false }));
    assert.equal(closed.stdout, 'done\n');

    const it = envd.process.start({ process: bash('cat'), stdin: true })[Symbol.asyncIterator]();
    const start = await firstEvent(it);
    assert.equal(start.event?.event.case, 'start');
    const pid = (start.event?.event.value as { pid: number }).pid;
    await envd.process.sendInput({ process: { selector: { case: 'pid', value: pid } }, input: { input: { case: 'stdin', value: Buffer.from('hello\n') } } });
    await envd.process.closeStdin({ process: { selector: { case: 'pid', value: pid } } });
    const rest = await collect({ [Symbol.asyncIterator]: () => it });
    assert.equal(rest.stdout, 'hello\n');
    assert.equal(rest.end?.exitCode, 0);
  });

  test('keepalives come at the requested interval', async () => {
    const r = await collect(envd.process.start({ process: bash('sleep 2.2') }, { headers: { 'Keepalive-Ping-Interval': '1' } }));
    assert.ok(r.keepalives >= 2, `got ${r.keepalives} keepalives`);
  });

  test('the Start deadline (Connect-Timeout-Ms) kills the process', async () => {
    const it = envd.process.start({ process: bash('sleep 30') }, { timeoutMs: 700 })[Symbol.asyncIterator]();
    const start = await firstEvent(it);
    const pid = (start.event?.event.value as { pid: number }).pid;
    await assert.rejects(async () => {
      for (;;) if ((await it.next()).done) break;
    }, (err: ConnectError) => err.code === Code.DeadlineExceeded);
    await sleep(300);
    assert.equal(alive(pid), false);
  });
});

describe('background processes', () => {
  test('disconnecting leaves the process running; Connect reattaches; SIGKILL ends every stream', async () => {
    const abort = new AbortController();
    const it = envd.process
      .start({ process: bash('while true; do echo tick; sleep 0.1; done'), tag: 'ticker' }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const start = await firstEvent(it);
    const pid = (start.event?.event.value as { pid: number }).pid;
    abort.abort();
    await sleep(300);
    assert.equal(alive(pid), true);

    const list = await envd.process.list({});
    const info = list.processes.find((p) => p.pid === pid);
    assert.equal(info?.tag, 'ticker');
    assert.deepEqual(info?.config?.args, ['-l', '-c', 'while true; do echo tick; sleep 0.1; done']);

    const attached = envd.process.connect({ process: { selector: { case: 'tag', value: 'ticker' } } })[Symbol.asyncIterator]();
    const again = await firstEvent(attached);
    assert.deepEqual(again.event?.event.value, { pid, $typeName: 'process.ProcessEvent.StartEvent' });
    const data = await firstEvent(attached);
    assert.equal(data.event?.event.case, 'data');

    await envd.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
    const rest = await collect({ [Symbol.asyncIterator]: () => attached });
    assert.deepEqual(
      { exitCode: rest.end?.exitCode, exited: rest.end?.exited, status: rest.end?.status, error: rest.end?.error },
      { exitCode: -1, exited: false, status: 'signal: killed', error: 'signal: killed' },
    );
    assert.equal((await envd.process.list({})).processes.some((p) => p.pid === pid), false);
  });

  test('a client that went away does not hold back a chatty process', async () => {
    const abort = new AbortController();
    const it = envd.process.start({ process: bash('head -c 30000000 /dev/zero') }, { signal: abort.signal })[Symbol.asyncIterator]();
    const pid = ((await firstEvent(it)).event?.event.value as { pid: number }).pid;
    await firstEvent(it); // some output is flowing
    abort.abort();
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    assert.equal(alive(pid), false, 'the process finished writing its output');
  });

  test('SIGTERM reaches the whole process group and is named like Go names it', async () => {
    const it = envd.process.start({ process: bash('sleep 60 & echo $!; wait') })[Symbol.asyncIterator]();
    const pid = ((await firstEvent(it)).event?.event.value as { pid: number }).pid;
    const data = await firstEvent(it);
    const sleeper = Number(Buffer.from((data.event?.event.value as { output: { value: Uint8Array } }).output.value).toString());
    assert.ok(alive(sleeper));
    await envd.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGTERM });
    const rest = await collect({ [Symbol.asyncIterator]: () => it });
    assert.equal(rest.end?.status, 'signal: terminated');
    await sleep(200);
    assert.equal(alive(sleeper), false, 'the background child died with its group');
  });

  test('signals, input and attach for an unknown process are not_found', async () => {
    const unknown = { process: { selector: { case: 'pid' as const, value: 999_999 } } };
    for (const call of [
      () => envd.process.sendSignal({ ...unknown, signal: Signal.SIGKILL }),
      () => envd.process.sendInput({ ...unknown, input: { input: { case: 'stdin', value: new Uint8Array([1]) } } }),
      () => collect(envd.process.connect(unknown)),
    ]) {
      await assert.rejects(call, (err: ConnectError) => err.code === Code.NotFound);
    }
  });
});

describe('defaults and client-streamed input', () => {
  test('/init defaultUser and defaultWorkdir apply to later commands', async () => {
    const reinit = (body: object) =>
      envd.fetch('/init', { method: 'POST', body: JSON.stringify({ accessToken: envd.token, envVars: { GLOBAL_VAR: 'global' }, ...body }) });
    assert.equal((await reinit({ defaultUser: 'root', defaultWorkdir: '/tmp' })).status, 204);
    try {
      const r = await collect(envd.process.start({ process: bash('id -u; pwd') }));
      assert.equal(r.stdout, '0\n/tmp\n');
    } finally {
      assert.equal((await reinit({ defaultUser: 'user', defaultWorkdir: '' })).status, 204);
    }
    const back = await collect(envd.process.start({ process: bash('id -u; pwd') }));
    assert.equal(back.stdout, `${userUid}\n${envd.home}\n`);
  });

  test('StreamInput selects a process and writes to its stdin', async () => {
    const it = envd.process.start({ process: bash('read a; echo "got $a"'), stdin: true })[Symbol.asyncIterator]();
    const pid = ((await firstEvent(it)).event?.event.value as { pid: number }).pid;
    async function* input() {
      yield { event: { case: 'start' as const, value: { process: { selector: { case: 'pid' as const, value: pid } } } } };
      yield { event: { case: 'data' as const, value: { input: { input: { case: 'stdin' as const, value: Buffer.from('streamed\n') } } } } };
    }
    await envd.process.streamInput(input());
    const rest = await collect({ [Symbol.asyncIterator]: () => it });
    assert.equal(rest.stdout, 'got streamed\n');
  });
});

describe('pty', () => {
  test('a login shell in a pty: output as pty data, input via SendInput, resize via Update', async () => {
    const it = envd.process
      .start({
        process: { cmd: '/bin/bash', args: ['-i', '-l'], envs: { PS1: 'PROMPT> ' } },
        pty: { size: { cols: 80, rows: 24 } },
      })
      [Symbol.asyncIterator]();
    const pid = ((await firstEvent(it)).event?.event.value as { pid: number }).pid;
    let screen = '';
    const reader = (async () => {
      for (;;) {
        const { value, done } = await it.next();
        if (done) return;
        const e = value.event?.event;
        if (e?.case === 'data') {
          assert.equal(e.value.output.case, 'pty');
          screen += Buffer.from(e.value.output.value as Uint8Array).toString();
        }
        if (e?.case === 'end') return e.value;
      }
    })();
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(screen); i++) await sleep(50);
      assert.match(screen, re);
    };
    const send = (text: string) =>
      envd.process.sendInput({ process: { selector: { case: 'pid', value: pid } }, input: { input: { case: 'pty', value: Buffer.from(text) } } });

    await send('echo "tty=$(tty) term=$TERM answer=$((6*7))"\n');
    await waitFor(/tty=\/dev\/pts\/\d+ term=xterm-256color answer=42/);
    await send('stty size\n');
    await waitFor(/\r24 80\r\n/);
    await envd.process.update({ process: { selector: { case: 'pid', value: pid } }, pty: { size: { cols: 120, rows: 40 } } });
    await send('stty size\n');
    await waitFor(/\r40 120\r\n/);
    await envd.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
    const end = await reader;
    assert.equal(end?.status, 'signal: killed');
    assert.equal(end?.exitCode, -1);
  });

  test('exit from a pty shell is a normal exit', async () => {
    const r = collect(envd.process.start({ process: { cmd: '/bin/bash', args: ['-c', 'read line; exit 5'] }, pty: { size: { cols: 80, rows: 24 } } }));
    await sleep(300);
    const pid = (await envd.process.list({})).processes.find((p) => p.config?.args[1] === 'read line; exit 5')!.pid;
    await envd.process.sendInput({ process: { selector: { case: 'pid', value: pid } }, input: { input: { case: 'pty', value: Buffer.from('x\n') } } });
    const done = await r;
    assert.equal(done.end?.status, 'exit status 5');
  });
});

describe('access', () => {
  test('a wrong token is unauthenticated; so is an unknown user, named in the message', async () => {
    await assert.rejects(envd.clients({ token: 'wrong' }).process.list({}), (err: ConnectError) => err.code === Code.Unauthenticated);
    await assert.rejects(envd.clients({ token: null }).process.list({}), (err: ConnectError) => err.code === Code.Unauthenticated);
    await assert.rejects(collect(envd.clients({ user: 'nobody-here' }).process.start({ process: bash('true') })), (err: ConnectError) => {
      assert.equal(err.code, Code.Unauthenticated);
      assert.match(err.message, /nobody-here/);
      return true;
    });
  });

  test('the process runs with the user as owner of its files', async () => {
    const r = await collect(envd.process.start({ process: bash('echo x > owned.txt; stat -c %u:%g owned.txt') }));
    assert.equal(r.stdout.trim(), `${userUid}:${userGid}`);
    assert.equal((await readFile(`${envd.home}/owned.txt`, 'utf8')).trim(), 'x');
  });
});
