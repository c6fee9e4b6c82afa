// The lifecycle driven with the in-memory runtime (no root): operations journal their intent and
// outcome, and recovery applies each state's rule and each open operation's rule to what a crash
// left. A crash is set up as it would be found: records in the state the dead server wrote, the
// runtime holding what the dead server's tools left.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { NetworkRange } from '../runtime/network/network-lease.js';
import { openDatabase, type Db } from '../store/database.js';
import { BootStateStore } from '../store/boot-state-store.js';
import { OperationStore } from '../store/operation-store.js';
import { type SandboxRecord, type SandboxState, SandboxStore } from '../store/sandbox-store.js';
import { SnapshotStore } from '../store/snapshot-store.js';
import { notBuilt, TemplateStore } from '../store/template-store.js';
import { SandboxService } from './sandbox-service.js';

let dir: string;
let db: Db;
let runtime: FakeRuntime;
let store: SandboxStore;
let operations: OperationStore;
let templates: TemplateStore;
let snapshots: SnapshotStore;
let service: SandboxService;
let network: NetworkRange;
let next = 0;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-recovery-'));
  mkdirSync(path.join(dir, 'layer'));
  db = openDatabase(':memory:');
  runtime = new FakeRuntime();
  store = new SandboxStore(db);
  operations = new OperationStore(db);
  templates = new TemplateStore(db);
  network = new NetworkRange('10.251.0.0/16');
  templates.upsert({
    id: 'base', alias: 'base', layers: [path.join(dir, 'layer')], cpuCount: 1, memoryMB: 256, diskSizeMB: 1024, startCmd: null,
    readyPort: null, ...notBuilt, createdAt: Date.now(),
  });
  // Pauses here are cold (restored at resume); warm-pauses.test.ts covers warm ones.
  const config = loadConfig({ dataDir: dir, warmPoolSize: 0, warmPausedMax: 0 });
  snapshots = new SnapshotStore(db);
  service = new SandboxService({ config, store, operations, templates, snapshots, bootStates: new BootStateStore(db), runtime, network, log: pino({ level: 'silent' }) });
});

afterEach(async () => {
  await service.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A sandbox record as the dead server left it, and what the runtime holds of it. */
function leftBehind(state: SandboxState, container: 'running' | 'frozen' | 'stopped' | 'absent', checkpoint = false): SandboxRecord {
  const index = next++;
  const rec = store.insert({
    id: `s${String(index).padStart(19, '0')}`, templateId: 'base', alias: 'base', state, envdToken: 't', metadata: {}, envVars: {},
    cpuCount: 1, memoryMB: 256, diskSizeMB: 1024, startedAt: Date.now(), endAt: Date.now() + 600_000, autoPause: false,
    autoResume: false, allowInternetAccess: true, networkIndex: index, timeoutSeconds: 600, pausedAt: null,
    idleTimeoutSeconds: null, networkRules: null, layers: [path.join(dir, 'layer')], startCmd: null,
  });
  const spec = { id: rec.id, layers: [], cpuCount: 1, memoryMB: 256, pidsLimit: 64, network: network.lease(index) };
  if (container !== 'absent' || state !== 'starting') runtime.sandboxes.set(rec.id, { spec, container });
  if (checkpoint) runtime.checkpoints.set(`pause/${rec.id}`, true);
  return rec;
}

const stateOf = (id: string) => store.get(id)?.state ?? 'gone';

describe('recovery after a crash', () => {
  it('keeps running sandboxes, thaws a frozen clone source, and removes starts no create answered for', async () => {
    const running = leftBehind('running', 'running');
    const frozen = leftBehind('running', 'frozen');
    const starting = leftBehind('starting', 'running');
    const report = await service.recover();
    assert.equal(stateOf(running.id), 'running');
    assert.equal(stateOf(frozen.id), 'running');
    assert.equal(runtime.sandboxes.get(frozen.id)?.container, 'running', 'thawed');
    assert.equal(stateOf(starting.id), 'gone');
    assert.equal(runtime.sandboxes.has(starting.id), false);
    assert.deepEqual({ running: report.running, removed: report.removed }, { running: 2, removed: 1 });
    assert.ok(runtime.calls.indexOf('settle') === 0, 'waits for what the dead server left going before it looks');
  });

  it('a pause cut short ends paused when its checkpoint finished, running when it did not', async () => {
    const finished = leftBehind('pausing', 'absent', true);
    const failed = leftBehind('pausing', 'running');
    await service.recover();
    assert.equal(stateOf(finished.id), 'paused');
    assert.equal(stateOf(failed.id), 'running');
    assert.ok(runtime.checkpoints.has(`pause/${finished.id}`), 'the paused one keeps its checkpoint');
  });

  it('a resume cut short ends running when the restore finished (checkpoint dropped), paused when it did not', async () => {
    const restored = leftBehind('resuming', 'running', true);
    const half = leftBehind('resuming', 'stopped', true);
    await service.recover();
    assert.equal(stateOf(restored.id), 'running');
    assert.equal(runtime.checkpoints.has(`pause/${restored.id}`), false);
    assert.equal(stateOf(half.id), 'paused');
    assert.ok(runtime.calls.includes(`clearStopped ${half.id}`), 'the half restore is cleared');
    assert.ok(runtime.checkpoints.has(`pause/${half.id}`));
  });

  it('a sandbox paused warm (or whose warm pause had not answered) ends paused cold: frozen processes ended, checkpoint kept', async () => {
    const warm = leftBehind('paused', 'frozen', true);
    const answering = leftBehind('pausing', 'frozen', true);
    const dumping = leftBehind('pausing', 'frozen');
    const report = await service.recover();
    for (const rec of [warm, answering]) {
      assert.equal(stateOf(rec.id), 'paused');
      assert.equal(runtime.sandboxes.get(rec.id)?.container, 'absent', 'its frozen processes are ended');
      assert.ok(runtime.calls.includes(`endFrozen ${rec.id}`), 'as a cold pause ends them');
      assert.ok(runtime.checkpoints.has(`pause/${rec.id}`), 'its checkpoint is kept');
    }
    assert.equal(stateOf(dumping.id), 'running', 'a warm pause whose checkpoint did not finish is thawed');
    assert.equal(runtime.sandboxes.get(dumping.id)?.container, 'running');
    assert.equal(report.paused, 2);
    await service.connect(warm.id, 60);
    assert.equal(stateOf(warm.id), 'running');
    assert.ok(runtime.calls.includes(`restore ${warm.id}`), 'a resume after the restart restores from disk');
  });

  it('finishes a kill, and removes a sandbox with neither processes nor a whole checkpoint', async () => {
    const killing = leftBehind('killing', 'running');
    const lost = leftBehind('paused', 'absent');
    await service.recover();
    assert.equal(stateOf(killing.id), 'gone');
    assert.equal(stateOf(lost.id), 'gone');
    assert.equal(runtime.sandboxes.size, 0);
  });

  it('keeps a sandbox paused without its memory (it has files, no checkpoint)', async () => {
    const filesOnly = leftBehind('paused', 'absent');
    store.setPausedWithoutMemory(filesOnly.id, true);
    await service.recover();
    assert.equal(stateOf(filesOnly.id), 'paused');
    assert.ok(runtime.sandboxes.has(filesOnly.id), 'its network and files are kept');
  });

  it('undoes a clone cut short (its clones and image) and leaves the source as it was', async () => {
    const source = leftBehind('running', 'frozen');
    const made = leftBehind('running', 'running');
    const half = leftBehind('starting', 'running');
    runtime.checkpoints.set('clone/abc', true);
    operations.begin('clone', source.id, { image: 'abc', clones: [made.id, half.id] });
    const report = await service.recover();
    assert.equal(stateOf(source.id), 'running');
    assert.equal(runtime.sandboxes.get(source.id)?.container, 'running');
    assert.equal(stateOf(made.id), 'gone');
    assert.equal(stateOf(half.id), 'gone');
    assert.equal(runtime.checkpoints.has('clone/abc'), false);
    assert.deepEqual(operations.open(), []);
    assert.equal(report.operations, 1);
  });

  it('undoes a snapshot cut short: no record, no saved state', async () => {
    const source = leftBehind('running', 'running');
    runtime.checkpoints.set('snapshot/snap-x', true);
    snapshots.insert({ id: 'snap-x', sourceSandboxId: source.id, layers: [], startCmd: null, cpuCount: 1, memoryMB: 256, diskSizeMB: 1024, address: '10.0.0.1', envdToken: 't', createdAt: Date.now() });
    operations.begin('snapshot', source.id, { snapshotId: 'snap-x' });
    await service.recover();
    assert.equal(snapshots.get('snap-x'), undefined);
    assert.equal(runtime.checkpoints.has('snapshot/snap-x'), false);
    assert.equal(stateOf(source.id), 'running');
  });

  it('finishes a network update cut short with the rules it was given', async () => {
    const rec = leftBehind('running', 'running');
    const rules = { allowOut: [], denyOut: ['192.0.2.0/24'] };
    operations.begin('network', rec.id, { rules });
    await service.recover();
    assert.deepEqual(store.get(rec.id)?.networkRules, rules);
    assert.deepEqual(runtime.sandboxes.get(rec.id)?.egress?.denyOut, ['192.0.2.0/24']);
    assert.deepEqual(operations.open(), []);
  });

  it("rewrites a running sandbox's outbound rules with this server's defaults, and keeps it when that fails", async () => {
    const rec = leftBehind('running', 'running');
    const rules = { allowOut: ['198.51.100.7'], denyOut: [] };
    store.setNetworkRules(rec.id, rules);
    const failing = leftBehind('running', 'running');
    const update = runtime.updateEgress.bind(runtime);
    runtime.updateEgress = (id, lease, egress) => (id === failing.id ? Promise.reject(new Error('name no longer resolves')) : update(id, lease, egress));
    await service.recover();
    assert.deepEqual(runtime.sandboxes.get(rec.id)?.egress, { allowInternetAccess: true, allowOut: ['198.51.100.7'], denyOut: [] });
    assert.equal(stateOf(failing.id), 'running');
  });

  it('sweeps saved states nothing owns and removes what the runtime holds for unknown sandboxes', async () => {
    const paused = leftBehind('paused', 'absent', true);
    const strays = ['clone/old', `pause/${paused.id}.discarded-1`, 'pause/gone-sandbox', 'snapshot/snap-gone', 'boot/base-0123456789abcdef'];
    for (const name of strays) runtime.checkpoints.set(name, false);
    runtime.sandboxes.set('stray', { spec: { id: 'stray', layers: [], cpuCount: 1, memoryMB: 1, pidsLimit: 1, network: network.lease(900) }, container: 'running' });
    await service.recover();
    assert.equal(stateOf(paused.id), 'paused');
    assert.deepEqual([...runtime.checkpoints.keys()], [`pause/${paused.id}`]);
    assert.equal(runtime.sandboxes.has('stray'), false);
  });
});

describe('operations journal their intent and outcome', () => {
  it('a pause moves running → pausing → paused, journaled ok; a failed checkpoint leaves it running, journaled failed', async () => {
    const rec = leftBehind('running', 'running');
    assert.equal(await service.pause(rec.id), true);
    assert.equal(stateOf(rec.id), 'paused');
    const failing = leftBehind('running', 'running');
    runtime.failNext('checkpoint');
    await assert.rejects(service.pause(failing.id), /pausing sandbox .* failed, it keeps running/);
    assert.equal(stateOf(failing.id), 'running');
    const rows = db.prepare('SELECT kind, sandbox_id AS id, outcome FROM operations ORDER BY id').all();
    assert.deepEqual(rows, [
      { kind: 'pause', id: rec.id, outcome: 'ok' },
      { kind: 'pause', id: failing.id, outcome: 'failed' },
    ]);
  });

  it('a resume moves paused → resuming → running; a failed restore leaves it paused with its checkpoint', async () => {
    const rec = leftBehind('running', 'running');
    await service.pause(rec.id);
    runtime.failNext('restore');
    await assert.rejects(service.connect(rec.id, 60), /resuming sandbox .* failed, it stays paused/);
    assert.equal(stateOf(rec.id), 'paused');
    const resumed = await service.connect(rec.id, 60);
    assert.equal(resumed.state, 'running');
    assert.equal(stateOf(rec.id), 'running');
  });

  it('a create past the sandbox limit or the memory kept free is refused with 429 naming the limit', async () => {
    leftBehind('running', 'running');
    const limited = new SandboxService({
      config: loadConfig({ dataDir: dir, warmPoolSize: 0, maxSandboxes: 1 }), store, operations, templates, snapshots, bootStates: new BootStateStore(db), runtime, network, log: pino({ level: 'silent' }),
    });
    await assert.rejects(limited.create({ templateId: 'base' }), (err: Error & { status?: number }) => err.status === 429 && /SANDCASTLE_MAX_SANDBOXES/.test(err.message));
    runtime.resources = { memoryAvailableBytes: 10 * 2 ** 20, diskAvailableBytes: 2 ** 40 };
    await assert.rejects(service.create({ templateId: 'base' }), (err: Error & { status?: number }) => err.status === 429 && /SANDCASTLE_MIN_FREE_MEMORY_MB/.test(err.message));
    assert.equal(store.countAll(), 1, 'a refused create leaves no record');
  });
});
