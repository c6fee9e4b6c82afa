// Control-plane calls of today's e2b SDK (2.51+), unmodified: fork, pause without memory, named
// snapshots, list ordering and filters, logs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { Sandbox, SandboxError, SandboxNotFoundError } from 'e2b';
import { installDir } from '../src/config.js';
import { apiFetch, useTestServer } from './support/server-process.js';

const testServer = useTestServer();

const e2bCli = path.join(installDir, 'node_modules/@e2b/cli/dist/index.js');
let cliHome: string;
before(async () => {
  cliHome = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-e2b-home-'));
});
after(async () => {
  await rm(cliHome, { recursive: true, force: true });
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The unmodified e2b CLI with only the settings the README gives: the API's and the sandboxes'
 *  URL and the key; a HOME of its own (no ~/.e2b login read) and no update check. */
async function e2b(args: string[]): Promise<CliRun> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(NOVITA|E2B)_/.test(k)) delete env[k];
  const server = testServer.current();
  Object.assign(env, { E2B_API_URL: server.url, E2B_SANDBOX_URL: server.url, E2B_API_KEY: server.apiKey, HOME: cliHome, NO_UPDATE_NOTIFIER: '1' });
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [e2bCli, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = !err ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: code === -1 ? `${stderr}${String(err)}` : stderr });
    });
    // Its stdin is a pipe, which `sandbox exec` would forward until it ends.
    child.stdin?.end();
  });
}

const shown = (r: CliRun) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

describe('fork', () => {
  it('forks a running sandbox into count copies that keep its files and memory, the source untouched', async () => {
    const sbx = await Sandbox.create({ metadata: { test: 'fork' } });
    const forks: Sandbox[] = [];
    try {
      await sbx.files.write('/home/user/before.txt', 'from the source');
      await sbx.commands.run('sleep 600', { background: true });
      const results = await Sandbox.fork(sbx.sandboxId, { count: 2 });
      assert.equal(results.length, 2);
      for (const r of results) {
        assert.ok(r instanceof Sandbox, `a fork failed: ${String(r)}`);
        forks.push(r);
      }
      assert.notEqual(forks[0]!.sandboxId, forks[1]!.sandboxId);
      for (const f of forks) {
        assert.equal(await f.files.read('/home/user/before.txt'), 'from the source');
        // The background process came along with the memory.
        assert.equal((await f.commands.run('pgrep -x sleep')).exitCode, 0);
        await f.files.write('/home/user/mine.txt', f.sandboxId);
      }
      assert.equal(await sbx.files.exists('/home/user/mine.txt'), false, 'the source does not see a fork write');
      assert.equal(await sbx.isRunning(), true);

      const [one] = await sbx.fork();
      assert.ok(one instanceof Sandbox, `sandbox.fork() failed: ${String(one)}`);
      forks.push(one);
      assert.equal(await one.files.read('/home/user/before.txt'), 'from the source');
    } finally {
      await Promise.all([sbx, ...forks].map((s) => s.kill()));
    }
  });

  it('answers 400 naming the range for count 0 or above 100, and 404 for a killed sandbox', async () => {
    const sbx = await Sandbox.create();
    try {
      for (const count of [0, 101]) {
        await assert.rejects(Sandbox.fork(sbx.sandboxId, { count }), (e: unknown) => {
          assert.ok(e instanceof SandboxError);
          assert.match(e.message, /^400: .*between 1 and 100/);
          return true;
        });
      }
      const res = await apiFetch(testServer.current(), `/sandboxes/${sbx.sandboxId}/fork`, { method: 'POST', body: JSON.stringify({ count: 0 }) });
      assert.deepEqual(await res.json(), { code: 400, message: 'fork count must be a whole number between 1 and 100, got 0' });
    } finally {
      await sbx.kill();
    }
    await assert.rejects(Sandbox.fork(sbx.sandboxId), SandboxNotFoundError);
    await assert.rejects(Sandbox.fork('never-was'), SandboxNotFoundError);
  });
});

/** Waits (up to `ms`) until `check` holds. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pause', () => {
  it('answers a second pause with 409, which the SDK reads as false', async () => {
    const sbx = await Sandbox.create();
    try {
      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.pause(), false);
      const res = await apiFetch(testServer.current(), `/sandboxes/${sbx.sandboxId}/pause`, { method: 'POST' });
      assert.equal(res.status, 409);
    } finally {
      await sbx.kill();
    }
  });

  it('without memory keeps the files and boots the processes again on resume', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept without memory');
      await sbx.commands.run('sleep 600', { background: true });
      assert.equal((await sbx.commands.run('pgrep -x sleep')).exitCode, 0);
      assert.equal(await sbx.pause({ keepMemory: false }), true);
      assert.equal((await sbx.getInfo()).state, 'paused');
      await assert.rejects(sbx.fork(), /^SandboxError: 409: .*paused without its memory/);

      await sbx.connect();
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.equal(await sbx.files.read('/home/user/kept.txt'), 'kept without memory');
      const ps = await sbx.commands.run('pgrep -x sleep').catch((e: unknown) => e);
      assert.equal((ps as { exitCode: number }).exitCode, 1, 'the background process did not survive the reboot');
      // And the rebooted sandbox pauses and resumes with its memory again.
      await sbx.commands.run('sleep 600', { background: true });
      assert.equal(await sbx.pause(), true);
      await sbx.connect();
      assert.equal((await sbx.commands.run('pgrep -x sleep')).exitCode, 0);
    } finally {
      await sbx.kill();
    }
  });

  it('is not resumed by traffic after a pause without memory, even with autoResume; connect boots it', async () => {
    const sbx = await Sandbox.create({ lifecycle: { onTimeout: 'pause', autoResume: true } });
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept');
      assert.equal(await sbx.pause({ keepMemory: false }), true);
      await assert.rejects(sbx.files.read('/home/user/kept.txt'));
      assert.equal(await sbx.isRunning(), false);
      assert.equal((await sbx.getInfo()).state, 'paused');
      await sbx.connect();
      assert.equal(await sbx.files.read('/home/user/kept.txt'), 'kept');
    } finally {
      await sbx.kill();
    }
  });

  it("boots a sandbox paused with its memory again when connect asks onResume: 'reboot'", async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept through a reboot');
      await sbx.commands.run('sleep 600', { background: true });
      assert.equal(await sbx.pause(), true);
      await sbx.connect({ onResume: 'reboot' });
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.equal(await sbx.files.read('/home/user/kept.txt'), 'kept through a reboot');
      const ps = await sbx.commands.run('pgrep -x sleep').catch((e: unknown) => e);
      assert.equal((ps as { exitCode: number }).exitCode, 1);
      // A running sandbox's connect with reboot leaves it as it is.
      await sbx.commands.run('sleep 600', { background: true });
      await sbx.connect({ onResume: 'reboot' });
      assert.equal((await sbx.commands.run('pgrep -x sleep')).exitCode, 0);
    } finally {
      await sbx.kill();
    }
  });

  it("pauses at its timeout without memory with lifecycle.onTimeout { action: 'pause', keepMemory: false }", async () => {
    const sbx = await Sandbox.create({ timeoutMs: 3_000, lifecycle: { onTimeout: { action: 'pause', keepMemory: false } } });
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept at timeout');
      await sbx.commands.run('sleep 600', { background: true });
      await until(async () => (await sbx.getInfo()).state === 'paused', 20_000, 'the pause at the timeout');
      await sbx.connect({ timeoutMs: 60_000 });
      assert.equal(await sbx.files.read('/home/user/kept.txt'), 'kept at timeout');
      const ps = await sbx.commands.run('pgrep -x sleep').catch((e: unknown) => e);
      assert.equal((ps as { exitCode: number }).exitCode, 1);
    } finally {
      await sbx.kill();
    }
  });
});

describe('named snapshots', () => {
  it('creates a snapshot by name, lists it by name and creates sandboxes from it by name; the newest of a name wins', async () => {
    const sbx = await Sandbox.create();
    const made: Sandbox[] = [];
    const name = `named-${Date.now()}`;
    try {
      await sbx.files.write('/home/user/v.txt', 'one');
      const first = await sbx.createSnapshot({ name });
      assert.deepEqual(first.names, [`${name}:default`]);
      const unnamed = await sbx.createSnapshot();
      assert.deepEqual(unnamed.names, [unnamed.snapshotId]);

      const listed = await Sandbox.listSnapshots({ name }).nextItems();
      assert.deepEqual(listed.map((s) => s.snapshotId), [first.snapshotId]);
      assert.deepEqual((await Sandbox.listSnapshots({ name: `${name}:default` }).nextItems()).map((s) => s.snapshotId), [first.snapshotId]);
      assert.deepEqual((await Sandbox.listSnapshots({ name: unnamed.snapshotId }).nextItems()).map((s) => s.snapshotId), [unnamed.snapshotId]);
      assert.equal((await Sandbox.listSnapshots({ sandboxId: sbx.sandboxId }).nextItems()).length, 2);

      const byName = await Sandbox.create(name);
      made.push(byName);
      assert.equal(await byName.files.read('/home/user/v.txt'), 'one');

      await sbx.files.write('/home/user/v.txt', 'two');
      const second = await sbx.createSnapshot({ name });
      assert.notEqual(second.snapshotId, first.snapshotId);
      const newest = await Sandbox.create(`${name}:default`);
      made.push(newest);
      assert.equal(await newest.files.read('/home/user/v.txt'), 'two');
      const byId = await Sandbox.create(first.snapshotId);
      made.push(byId);
      assert.equal(await byId.files.read('/home/user/v.txt'), 'one');

      await assert.rejects(sbx.createSnapshot({ name: 'base' }), /^SandboxError: 409: .*template's name/);
      await assert.rejects(sbx.createSnapshot({ name: 'bad:tag' }), /^SandboxError: 400: snapshot name "bad:tag" is not valid/);

      for (const s of [first, second, unnamed]) assert.equal(await Sandbox.deleteSnapshot(s.snapshotId), true);
      assert.deepEqual(await Sandbox.listSnapshots({ name }).nextItems(), []);
      await assert.rejects(Sandbox.create(name), /404/);
    } finally {
      await Promise.all([sbx, ...made].map((s) => s.kill()));
    }
  });
});

describe('list', () => {
  it('orders by start time, filters by startedAfter and template, and counts the running in X-Total-Running', async () => {
    const tag = `list-${Date.now()}`;
    const made: Sandbox[] = [];
    try {
      made.push(await Sandbox.create({ metadata: { tag } }));
      await new Promise((r) => setTimeout(r, 20));
      const cut = new Date();
      made.push(await Sandbox.create({ metadata: { tag } }));
      const snap = await made[1]!.createSnapshot();
      made.push(await Sandbox.create(snap.snapshotId, { metadata: { tag } }));
      const ids = made.map((s) => s.sandboxId);
      const query = { metadata: { tag } };

      const ordered = async (order?: 'asc' | 'desc') => (await Sandbox.list({ query, order }).nextItems()).map((s) => s.sandboxId);
      assert.deepEqual(await ordered(), [...ids].reverse());
      assert.deepEqual(await ordered('desc'), [...ids].reverse());
      assert.deepEqual(await ordered('asc'), ids);
      // Ordered across pages, not within one.
      const pager = Sandbox.list({ query, order: 'asc', limit: 2 });
      assert.deepEqual([...(await pager.nextItems()), ...(await pager.nextItems())].map((s) => s.sandboxId), ids);
      assert.equal(pager.hasNext, false);

      const after = await Sandbox.list({ query: { ...query, startedAfter: cut }, order: 'asc' }).nextItems();
      assert.deepEqual(after.map((s) => s.sandboxId), ids.slice(1));
      const base = await Sandbox.list({ query: { ...query, template: 'base' } }).nextItems();
      assert.deepEqual(base.map((s) => s.sandboxId), ids.slice(0, 2).reverse());
      const fromSnapshot = await Sandbox.list({ query: { ...query, template: snap.snapshotId } }).nextItems();
      assert.deepEqual(fromSnapshot.map((s) => s.sandboxId), [ids[2]]);

      await made[0]!.pause();
      const server = testServer.current();
      const res = await apiFetch(server, `/v2/sandboxes?metadata=${encodeURIComponent(`tag=${tag}`)}&limit=1`);
      assert.equal(res.headers.get('x-total-running'), '2');
      assert.ok(res.headers.get('x-next-token'));
      const bad = await apiFetch(server, '/v2/sandboxes?order=up&startedAfter=yesterday');
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /order must be 'asc' or 'desc'/);
      const badTime = await apiFetch(server, '/v2/sandboxes?startedAfter=yesterday');
      assert.match(((await badTime.json()) as { message: string }).message, /startedAfter must be an RFC 3339 time/);
      await Sandbox.deleteSnapshot(snap.snapshotId);
    } finally {
      await Promise.all(made.map((s) => s.kill()));
    }
  });
});

describe('logs', () => {
  it('answers the lifecycle events on both routes, filtered by cursor, direction, level and search, and `e2b sandbox logs` prints them', async () => {
    const sbx = await Sandbox.create();
    const server = testServer.current();
    let forkId = '';
    try {
      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.pause(), false);
      await sbx.connect();
      const [fork] = await sbx.fork();
      assert.ok(fork instanceof Sandbox);
      forkId = fork.sandboxId;

      type V2 = { logs: Array<{ timestamp: string; level: string; message: string; fields: Record<string, string> }> };
      // envd's own lines are interleaved (see the test below); these are the lifecycle's.
      const v2 = async (query = '') => {
        const res = await apiFetch(server, `/v2/sandboxes/${sbx.sandboxId}/logs${query}`);
        assert.equal(res.status, 200);
        return ((await res.json()) as V2).logs.filter((e) => e.fields.logger === 'lifecycle');
      };
      const all = await v2();
      assert.deepEqual(
        all.map((e) => e.message),
        ['create started', 'create done', 'pause started', 'pause done', 'resume started', 'resume done', 'clone started', 'clone done'],
      );
      assert.ok(all.every((e) => e.level === 'info' && e.fields.logger === 'lifecycle' && !Number.isNaN(Date.parse(e.timestamp))));
      assert.deepEqual((await v2('?search=pause')).map((e) => e.message), ['pause started', 'pause done']);
      assert.deepEqual((await v2('?search=clone&direction=backward&limit=2')).map((e) => e.message), ['clone done', 'clone started']);
      const resumeAt = Date.parse(all[4]!.timestamp);
      assert.equal((await v2(`?cursor=${resumeAt}`))[0]!.message, 'resume started');
      assert.deepEqual(await v2('?level=error'), []);

      const forkLogs = ((await (await apiFetch(server, `/v2/sandboxes/${forkId}/logs`)).json()) as V2).logs.filter((e) => e.fields.logger === 'lifecycle');
      assert.deepEqual(forkLogs.map((e) => e.message), [`start as a clone of ${sbx.sandboxId} started`, `start as a clone of ${sbx.sandboxId} done`]);

      const v1 = (await (await apiFetch(server, `/sandboxes/${sbx.sandboxId}/logs?start=${resumeAt}`)).json()) as { logs: Array<{ line: string }> };
      const v1Lifecycle = v1.logs.map((l) => JSON.parse(l.line) as { message: string; logger: string }).filter((l) => l.logger === 'lifecycle');
      assert.deepEqual(v1Lifecycle.map((l) => l.message), ['resume started', 'resume done', 'clone started', 'clone done']);

      const pretty = await e2b(['sandbox', 'logs', sbx.sandboxId]);
      assert.equal(pretty.code, 0, pretty.stderr);
      assert.match(pretty.stdout, new RegExp(`Logs for sandbox .*${sbx.sandboxId}`));
      // The CLI colours the fields whatever the terminal.
      assert.match(stripVTControlCharacters(pretty.stdout), /INFO .*message: 'pause done'/);
      const json = await e2b(['sandbox', 'logs', sbx.sandboxId, '--format', 'json']);
      assert.equal(json.code, 0, json.stderr);
      const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; logger: string }).filter((l) => l.logger === 'lifecycle');
      assert.equal(lines.length, 8);
      assert.deepEqual(lines[0], { ...lines[0], level: 'info', message: 'create started' });
    } finally {
      await Promise.all([sbx.kill(), forkId && Sandbox.kill(forkId)]);
    }
    // Kept after the kill, with the kill at the end.
    const afterKill = ((await (await apiFetch(server, `/v2/sandboxes/${sbx.sandboxId}/logs?direction=backward&limit=1&search=kill`)).json()) as { logs: Array<{ message: string }> }).logs;
    assert.deepEqual(afterKill.map((e) => e.message), ['kill done']);
  });

  it("shows envd's own log beside the lifecycle, kept over pause/resume, with level and search, and in `e2b sandbox logs`", async () => {
    const sbx = await Sandbox.create();
    const server = testServer.current();
    type V2 = { logs: Array<{ timestamp: string; level: string; message: string; fields: Record<string, string> }> };
    const v2 = async (query = '') => ((await (await apiFetch(server, `/v2/sandboxes/${sbx.sandboxId}/logs${query}`)).json()) as V2).logs;
    try {
      await sbx.commands.run('echo before-pause');
      await assert.rejects(sbx.commands.run('exit 3'));
      assert.equal(await sbx.pause(), true);
      // Read from the writable layer: a paused sandbox's envd log is there without resuming it.
      const whilePaused = await v2('?search=before-pause');
      assert.equal(whilePaused.length, 1, JSON.stringify(whilePaused));
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
      await sbx.connect();
      await sbx.commands.run('echo after-resume');

      const all = await v2();
      const envd = all.filter((e) => e.fields.logger === 'envd');
      const started = envd.filter((e) => /^process \d+ started: .*echo (before-pause|after-resume)/.test(e.message));
      assert.deepEqual(started.map((e) => /echo (\S+)/.exec(e.message)![1]), ['before-pause', 'after-resume'], JSON.stringify(envd));
      assert.ok(started.every((e) => e.level === 'info' && e.fields.user === 'user' && /^\d+$/.test(e.fields.pid!)));
      // In time order with the lifecycle: the resume comes between the two commands.
      const at = (pred: (e: V2['logs'][number]) => boolean) => all.findIndex(pred);
      const resumed = at((e) => e.message === 'resume done');
      assert.ok(at((e) => e.message.includes('echo before-pause')) < resumed && resumed < at((e) => e.message.includes('echo after-resume')));

      const warnings = await v2('?level=warn');
      assert.ok(warnings.some((e) => e.fields.logger === 'envd' && /ended: exit status 3$/.test(e.message) && e.fields.exitCode === '3'), JSON.stringify(warnings));
      assert.ok(warnings.every((e) => e.level === 'warn' || e.level === 'error'));
      const backward = await v2('?search=after-resume&direction=backward&limit=1');
      assert.equal(backward.length, 1);
      const cursor = Date.parse(backward[0]!.timestamp);
      assert.ok((await v2(`?cursor=${cursor}`)).every((e) => Date.parse(e.timestamp) >= cursor));

      const cli = await e2b(['sandbox', 'logs', sbx.sandboxId, '--format', 'json']);
      assert.equal(cli.code, 0, cli.stderr);
      const cliLines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l) as { logger: string; message: string });
      assert.ok(cliLines.some((l) => l.logger === 'envd' && l.message.includes('echo after-resume')), cli.stdout);
      assert.ok(cliLines.some((l) => l.logger === 'lifecycle'));
    } finally {
      await sbx.kill();
    }
  });

  it('answers 404 for a sandbox that never was, and 400 for a bad query', async () => {
    const server = testServer.current();
    for (const route of ['/sandboxes/never-was/logs', '/v2/sandboxes/never-was/logs']) {
      const res = await apiFetch(server, route);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { code: 404, message: "sandbox 'never-was' not found" });
    }
    const sbx = await Sandbox.create();
    try {
      const res = await apiFetch(server, `/v2/sandboxes/${sbx.sandboxId}/logs?direction=sideways`);
      assert.equal(res.status, 400);
      const cli = await e2b(['sandbox', 'logs', 'never-was']);
      assert.notEqual(cli.code, 0);
      assert.match(cli.stdout + cli.stderr, /404|not found/i);
    } finally {
      await sbx.kill();
    }
  });
});

describe('e2b CLI sandbox commands (unmodified @e2b/cli)', () => {
  it('list, info, metrics, exec, pause, resume, snapshot create|list|delete and kill', async () => {
    const tag = `cli-${Date.now()}`;
    const sbx = await Sandbox.create({ metadata: { tag } });
    const id = sbx.sandboxId;
    try {
      const listed = await e2b(['sandbox', 'list', '--format', 'json', '--metadata', `tag=${tag}`]);
      assert.equal(listed.code, 0, shown(listed));
      const items = JSON.parse(listed.stdout) as Array<{ sandboxId: string; state: string; metadata: Record<string, string> }>;
      assert.deepEqual(items.map((s) => [s.sandboxId, s.state, s.metadata.tag]), [[id, 'running', tag]]);
      const table = await e2b(['sandbox', 'list']);
      assert.match(table.stdout, new RegExp(`${id}\\s+base\\s+base\\s.*Running`), shown(table));

      const info = await e2b(['sandbox', 'info', id]);
      assert.equal(info.code, 0, shown(info));
      assert.match(info.stdout, new RegExp(`Sandbox ID: ${id}`));
      assert.match(info.stdout, /State: running/);

      // Metrics are sampled every second or so after the start.
      await new Promise((r) => setTimeout(r, 2_000));
      const metrics = await e2b(['sandbox', 'metrics', id]);
      assert.equal(metrics.code, 0, shown(metrics));
      assert.match(metrics.stdout, /CPU: .*Cores \| Memory: .*MiB \| Disk: .*MiB/, shown(metrics));

      const exec = await e2b(['sandbox', 'exec', id, 'echo hi from exec; exit 3']);
      assert.equal(exec.code, 3, shown(exec));
      assert.equal(exec.stdout, 'hi from exec\n');

      const paused = await e2b(['sandbox', 'pause', id]);
      assert.equal(paused.code, 0, shown(paused));
      assert.match(paused.stdout, /has been paused/);
      assert.equal((await sbx.getInfo()).state, 'paused');
      const pausedList = await e2b(['sandbox', 'list', '--state', 'paused', '--format', 'json', '--metadata', `tag=${tag}`]);
      assert.deepEqual((JSON.parse(pausedList.stdout) as Array<{ sandboxId: string }>).map((s) => s.sandboxId), [id], shown(pausedList));
      const resumed = await e2b(['sandbox', 'resume', id]);
      assert.equal(resumed.code, 0, shown(resumed));
      assert.equal((await sbx.getInfo()).state, 'running');

      const snapName = `${tag}-snap`;
      const snap = await e2b(['sandbox', 'snapshot', 'create', id, '--name', snapName]);
      assert.equal(snap.code, 0, shown(snap));
      const snapList = await e2b(['sandbox', 'snapshot', 'list', id, '--format', 'json']);
      assert.deepEqual((JSON.parse(snapList.stdout) as Array<{ names: string[] }>).map((s) => s.names), [[`${snapName}:default`]], shown(snapList));
      const snapDelete = await e2b(['sandbox', 'snapshot', 'delete', snapName]);
      assert.equal(snapDelete.code, 0, shown(snapDelete));
      assert.match(snapDelete.stdout, /has been deleted/);

      const killed = await e2b(['sandbox', 'kill', id]);
      assert.equal(killed.code, 0, shown(killed));
      assert.match(killed.stdout, /has been killed/);
      assert.equal(await Sandbox.kill(id), false);
    } finally {
      await sbx.kill();
    }
  });
});
