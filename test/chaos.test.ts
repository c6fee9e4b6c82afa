// The server killed (SIGKILL) at random moments of every lifecycle operation, then restarted:
// no sandbox a call answered for is lost (it runs with its files and the memory of its processes,
// or is paused and resumes with them), an operation cut short completes or leaves nothing of
// itself, the source of a clone is unharmed, and nothing is left on the host that no sandbox owns.
// Seeded: SANDCASTLE_CHAOS_SEED reproduces the kill moments of a run; SANDCASTLE_CHAOS_TRIALS sets
// the trials per operation (default 20).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Sandbox } from 'novita-sandbox';
import { dataFiles } from '../src/config.js';
import { randomFor } from './support/fuzz-random.js';
import { apiFetch, disposeServer, fastCreatePrepared, type ServerProcess, startServerProcess, useServer } from './support/server-process.js';
import { sandboxesWithRules, sandboxRules } from './support/sandbox-rules.js';

const seed = Number(process.env.SANDCASTLE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const trials = Number(process.env.SANDCASTLE_CHAOS_TRIALS ?? 20);

const random = randomFor(seed, 0).next;

const cidrSecond = 200 + Math.floor(Math.random() * 50);
const serverEnv = {
  // Restarts stay cheap, and every sandbox is one this test asked for.
  SANDCASTLE_WARM_POOL: '0',
  SANDCASTLE_NETWORK_CIDR: `10.${cidrSecond}.0.0/16`,
};

let server: ServerProcess;
/** What the server killed last printed, for failure messages. */
let crashedOutput = '';

/** What the test knows of a sandbox it was answered for: its file and its process's memory. */
interface Known {
  id: string;
  token: string;
  secret: string;
}
const known = new Map<string, Known>();

const holderProgram = [
  'import os, sys, time',
  'secret = sys.argv[1]',
  'n = 0',
  'while True:',
  '    n += 1',
  "    open('/tmp/holder.tmp', 'w').write(f'{secret} {n}')",
  "    os.replace('/tmp/holder.tmp', '/tmp/holder')",
  '    time.sleep(0.05)',
].join('\n');

async function makeKnown(): Promise<Known> {
  const sbx = await Sandbox.create({ timeoutMs: 3_600_000 });
  const token = `file-${Math.random().toString(36).slice(2)}`;
  const secret = `mem-${Math.random().toString(36).slice(2)}`;
  await sbx.files.write('/home/user/marker', token);
  await sbx.files.write('/tmp/holder.py', holderProgram);
  // The secret is in no file: only in the process's memory (its argument).
  // No timeout: the SDK ends a command after 60 s by default.
  await sbx.commands.run(`python3 /tmp/holder.py ${secret}`, { background: true, timeoutMs: 0 });
  for (let i = 0; i < 100 && !(await sbx.files.exists('/tmp/holder')); i++) await sleep(50);
  const k = { id: sbx.sandboxId, token, secret };
  known.set(k.id, k);
  return k;
}

/** A sandbox is true to what the test knows: its file is there, its process is alive (counting)
 *  with the same memory. A paused one is resumed for the check. */
async function checkKnown(k: Known, why: string): Promise<void> {
  const sbx = await Sandbox.connect(k.id, { timeoutMs: 3_600_000 });
  assert.equal(await sbx.files.read('/home/user/marker'), k.token, `${why}: file of ${k.id}`);
  const first = (await sbx.files.read('/tmp/holder')).split(' ');
  assert.equal(first[0], k.secret, `${why}: memory of ${k.id}'s process`);
  let later = first;
  for (let i = 0; i < 40 && later[1] === first[1]; i++) {
    await sleep(50);
    later = (await sbx.files.read('/tmp/holder')).split(' ');
  }
  if (Number(later[1]) <= Number(first[1])) {
    // What its processes are doing, for whoever reads the failure.
    const ps = await sbx.commands.run('ps -eo pid,stat,wchan:24,args', { user: 'root' }).then((r) => r.stdout, (e: Error) => e.message);
    const freezer = `/sys/fs/cgroup/freezer/sandcastle/${k.id}/freezer.state`;
    const frozen = existsSync(freezer) ? readFileSync(freezer, 'utf8').trim() : 'no v1 freezer';
    assert.fail(`${why}: ${k.id}'s process stopped counting at ${first[1]} (freezer ${frozen})\n${ps}`);
  }
}

async function state(id: string): Promise<string | undefined> {
  const res = await apiFetch(server, `/sandboxes/${id}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `info of ${id}`);
  return ((await res.json()) as { state: string }).state;
}

async function listed(): Promise<Array<{ sandboxID: string; state: string }>> {
  const res = await apiFetch(server, '/v2/sandboxes?state=running&state=paused');
  return (await res.json()) as Array<{ sandboxID: string; state: string }>;
}

/** Starts `call`, kills the server at a random moment within `withinMs`, starts it again. */
async function crashDuring(call: () => Promise<Response>, withinMs: number): Promise<{ answered?: Response; delayMs: number }> {
  const delayMs = Math.floor(random() * withinMs);
  let answered: Response | undefined;
  const pending = call().then(
    (r) => (answered = r),
    () => undefined,
  );
  await sleep(delayMs);
  await server.crash();
  crashedOutput = server.output();
  await pending;
  server = await startServerProcess({ dataDir: server.dataDir, env: serverEnv });
  useServer(server);
  // The answer counts only if it was whole before the crash.
  if (answered) {
    try {
      const body = await answered.clone().text();
      answered = new Response(body, { status: answered.status });
    } catch {
      answered = undefined;
    }
  }
  return { answered, delayMs };
}

/** Ids of every sandbox the server ever journaled an operation on (in flight ones too). */
function journaledIds(): Set<string> {
  const db = new Database(dataFiles(server.dataDir).database, { readonly: true });
  try {
    return new Set((db.prepare('SELECT DISTINCT sandbox_id AS id FROM operations').all() as { id: string }[]).map((r) => r.id));
  } finally {
    db.close();
  }
}

const sub = (p: string) => (existsSync(p) ? readdirSync(p) : []);

function lines(cmd: string, args: string[]): string[] {
  return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** `list()` once the checkpoints a resume discarded are gone: the server removes them two seconds
 *  after the resume (runc-runtime.ts), so one seen at once is not a leak; one still there after
 *  five seconds is. */
async function withoutDiscarded(list: () => string[]): Promise<string[]> {
  for (let i = 0; i < 100 && list().some((n) => n.includes('.discarded-')); i++) await sleep(50);
  return list();
}

/** Nothing on the host that none of the server's sandboxes owns. */
async function checkNoLeaks(why: string): Promise<void> {
  const items = await listed();
  const running = new Set(items.filter((s) => s.state === 'running').map((s) => s.sandboxID));
  const paused = new Set(items.filter((s) => s.state === 'paused').map((s) => s.sandboxID));
  const all = new Set([...running, ...paused]);
  const ours = new Set([...journaledIds(), ...all, ...known.keys()]);
  const layout = dataFiles(server.dataDir);
  assert.deepEqual(sub(path.join(server.dataDir, 'runc')).filter((id) => !running.has(id)), [], `${why}: containers (running: ${[...running].join(", ")}; known: ${[...known.keys()].join(", ")})`);
  assert.deepEqual(sub(layout.sandboxes).filter((id) => !all.has(id)), [], `${why}: sandbox folders`);
  assert.deepEqual(await withoutDiscarded(() => sub(layout.checkpoints).filter((n) => !paused.has(n))), [], `${why}: checkpoint folders`);
  assert.deepEqual(sub(layout.clones), [], `${why}: clone images`);
  const snapshots = ((await (await apiFetch(server, '/snapshots')).json()) as Array<{ snapshotID: string }>).map((s) => s.snapshotID);
  assert.deepEqual(sub(layout.snapshots).filter((n) => !snapshots.includes(n)), [], `${why}: snapshot folders`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(server.dataDir));
  assert.deepEqual(mounts.filter((l) => ![...all].some((id) => l.includes(`/sandboxes/${id}/`))), [], `${why}: mounts`);
  const netns = sub('/var/run/netns').filter((n) => n.startsWith('sc-') && ours.has(n.slice(3)) && !all.has(n.slice(3)));
  assert.deepEqual(netns, [], `${why}: network namespaces`);
  const veths = lines('ip', ['-o', '-4', 'addr', 'show'])
    .filter((l) => l.includes(` inet 10.${cidrSecond}.`))
    .map((l) => l.split(/\s+/)[1]!)
    .filter((name) => ![...all].some((id) => name === `sc${id.slice(0, 13)}`));
  assert.deepEqual(veths, [], `${why}: veth interfaces`);
  const cgroupDir = '/sys/fs/cgroup/memory/sandcastle';
  const cgroups = sub(existsSync(cgroupDir) ? cgroupDir : '/sys/fs/cgroup/sandcastle').filter((id) => ours.has(id) && !running.has(id));
  assert.deepEqual(cgroups, [], `${why}: cgroups`);
  const chains = sandboxesWithRules().filter((id) => ours.has(id) && !all.has(id));
  assert.deepEqual(chains, [], `${why}: nftables chains`);
}

/** Every sandbox the server lists is one the test knows, or one a cut-short call completed
 *  (checked against its source and then killed). */
async function checkListed(why: string, completedFrom?: Known): Promise<void> {
  for (const s of await listed()) {
    if (known.has(s.sandboxID)) continue;
    assert.ok(completedFrom, `${why}: ${s.sandboxID} is listed but no call answered for it or could have made it`);
    await checkKnown({ ...completedFrom, id: s.sandboxID }, `${why} (completed copy)`);
    await apiFetch(server, `/sandboxes/${s.sandboxID}`, { method: 'DELETE' });
  }
}

async function checkAllKnown(why: string): Promise<void> {
  for (const k of [...known.values()]) {
    const st = await state(k.id);
    assert.ok(st === 'running' || st === 'paused', `${why}: ${k.id} is ${st ?? 'gone'}`);
    await checkKnown(k, why);
  }
}

const post = (p: string, body: unknown) => () =>
  apiFetch(server, p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe(`chaos: SIGKILL during each operation (seed ${seed}, ${trials} trials per operation)`, () => {
  let subject: Known;

  before(async () => {
    console.log(`chaos: seed ${seed}, ${trials} trials per operation, 8 operations`);
    server = await startServerProcess({ env: serverEnv });
    useServer(server);
    // The templates' boot states are saved in the background after the first start; their
    // sandboxes are the server's own work in progress, not leftovers, so let that finish first.
    await fastCreatePrepared(server);
    subject = await makeKnown();
  });

  after(async () => {
    if (server) await disposeServer(server);
  });

  const trial = async (name: string, i: number, run: () => Promise<void>) => {
    const why = `${name} trial ${i + 1} (seed ${seed})`;
    try {
      await run();
      await checkAllKnown(why);
      await checkNoLeaks(why);
    } catch (err) {
      const tail = (text: string) => text.trim().split('\n').slice(-25).join('\n');
      (err as Error).message += `\n--- the killed server printed ---\n${tail(crashedOutput)}\n--- the restarted server printed ---\n${tail(server.output())}`;
      throw err;
    }
  };

  it('create', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('create', i, async () => {
        const { answered } = await crashDuring(post('/sandboxes', { templateID: 'base', timeout: 3600 }), 400);
        if (answered?.status === 201) {
          const id = ((await answered.json()) as { sandboxID: string }).sandboxID;
          assert.ok(await state(id), `create answered for ${id}, which is gone after the restart`);
          const sbx = await Sandbox.connect(id);
          assert.equal((await sbx.commands.run('echo ok')).stdout.trim(), 'ok');
        }
        for (const s of await listed()) if (!known.has(s.sandboxID)) await apiFetch(server, `/sandboxes/${s.sandboxID}`, { method: 'DELETE' });
      });
    }
  });

  it('pause', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('pause', i, async () => {
        if ((await state(subject.id)) === 'paused') await Sandbox.connect(subject.id);
        const { answered } = await crashDuring(post(`/sandboxes/${subject.id}/pause`, {}), 400);
        if (answered?.status === 204) assert.equal(await state(subject.id), 'paused', 'a pause answered for stays paused');
      });
    }
  });

  it('resume', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('resume', i, async () => {
        if ((await state(subject.id)) === 'running') await Sandbox.connect(subject.id).then((s) => s.betaPause());
        const { answered } = await crashDuring(post(`/sandboxes/${subject.id}/connect`, { timeout: 3600 }), 400);
        if (answered?.status === 200) assert.equal(await state(subject.id), 'running', 'a resume answered for stays running');
      });
    }
  });

  it('clone', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('clone', i, async () => {
        // Half the trials clone a paused source.
        const wantPaused = i % 2 === 1;
        const st = await state(subject.id);
        if (wantPaused && st === 'running') await Sandbox.connect(subject.id).then((s) => s.betaPause());
        if (!wantPaused && st === 'paused') await Sandbox.connect(subject.id);
        const { answered } = await crashDuring(post(`/sandboxes/${subject.id}/clone`, { count: 2, strict: true }), 1200);
        if (answered?.status === 201) {
          const ids = ((await answered.json()) as { sandboxes: { sandboxID: string }[] }).sandboxes.map((s) => s.sandboxID);
          for (const id of ids) assert.ok(await state(id), `clone ${id} was answered for and is gone`);
        }
        await checkListed(`clone trial ${i + 1}`, subject);
      });
    }
  });

  it('snapshot', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('snapshot', i, async () => {
        const { answered } = await crashDuring(post(`/sandboxes/${subject.id}/snapshots`, {}), 600);
        const snapshots = ((await (await apiFetch(server, '/snapshots')).json()) as Array<{ snapshotID: string }>).map((s) => s.snapshotID);
        if (answered?.status === 201) {
          const id = ((await answered.json()) as { snapshotID: string }).snapshotID;
          assert.ok(snapshots.includes(id), `snapshot ${id} was answered for and is gone`);
        }
        // A snapshot that exists is whole: a sandbox starts from it with the source's file and memory.
        for (const id of snapshots) {
          if (i % 5 === 0) {
            const copy = await Sandbox.create(id);
            await checkKnown({ ...subject, id: copy.sandboxId }, `sandbox from snapshot ${id}`);
            await copy.kill();
          }
          assert.equal((await apiFetch(server, `/templates/${id}`, { method: 'DELETE' })).status, 204);
        }
      });
    }
  });

  it('kill', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('kill', i, async () => {
        const victim = await makeKnown();
        const { answered } = await crashDuring(() => apiFetch(server, `/sandboxes/${victim.id}`, { method: 'DELETE' }), 300);
        const st = await state(victim.id);
        if (answered?.status === 204) assert.equal(st, undefined, 'a kill answered for is gone');
        // Killed or untouched; never half.
        known.delete(victim.id);
        if (st !== undefined) {
          await checkKnown(victim, `kill trial ${i + 1}: a sandbox whose kill was cut short`);
          await apiFetch(server, `/sandboxes/${victim.id}`, { method: 'DELETE' });
        }
      });
    }
  });

  it('set timeout', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('set timeout', i, async () => {
        if ((await state(subject.id)) === 'paused') await Sandbox.connect(subject.id);
        const timeout = 1800 + Math.floor(random() * 1800);
        const { answered } = await crashDuring(post(`/sandboxes/${subject.id}/timeout`, { timeout }), 30);
        const info = (await (await apiFetch(server, `/sandboxes/${subject.id}`)).json()) as { endAt: string };
        const left = (Date.parse(info.endAt) - Date.now()) / 1000;
        if (answered?.status === 204) assert.ok(Math.abs(left - timeout) < 60, `end in ${left} s, set to ${timeout} s`);
      });
    }
  });

  it('network update', async () => {
    for (let i = 0; i < trials; i++) {
      await trial('network update', i, async () => {
        if ((await state(subject.id)) === 'paused') await Sandbox.connect(subject.id);
        const denyOut = [`192.0.2.${1 + Math.floor(random() * 250)}/32`];
        const put = () => apiFetch(server, `/sandboxes/${subject.id}/network`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ denyOut }) });
        const { answered } = await crashDuring(put, 150);
        const info = (await (await apiFetch(server, `/sandboxes/${subject.id}`)).json()) as { network?: { denyOut?: string[] } };
        if (answered && answered.status < 300) assert.deepEqual(info.network?.denyOut, denyOut, 'a network update answered for is kept');
        // What the server says is what the kernel has.
        const rules = sandboxRules(subject.id).filter((l) => /ip daddr 192\.0\.2\.\d+ /.test(l));
        const stored = info.network?.denyOut ?? [];
        // nft prints a /32 as the bare address.
        for (const cidr of stored) assert.ok(rules.some((l) => l.includes(`ip daddr ${cidr.replace(/\/32$/, '')} `)), `rule for ${cidr} in the kernel`);
        assert.equal(rules.length >= stored.length, true);
      });
    }
  });
});
