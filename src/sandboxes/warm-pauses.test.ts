// Warm pauses driven with the in-memory runtime: a pause leaves the processes frozen beside a whole
// checkpoint, a resume thaws them, and the oldest are evicted to their checkpoint past the count
// setting, under the memory setting (the fake runtime's memory figure stands for the host's) and
// at shutdown.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { type Config, loadConfig } from '../config.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { NetworkRange } from '../runtime/network/network-lease.js';
import { BootStateStore } from '../store/boot-state-store.js';
import { openDatabase, type Db } from '../store/database.js';
import { OperationStore } from '../store/operation-store.js';
import { SandboxStore } from '../store/sandbox-store.js';
import { SnapshotStore } from '../store/snapshot-store.js';
import { notBuilt, TemplateStore } from '../store/template-store.js';
import { SandboxService } from './sandbox-service.js';

const MiB = 2 ** 20;
let dir: string;
let db: Db;
let runtime: FakeRuntime;
let store: SandboxStore;
let network: NetworkRange;
let service: SandboxService | undefined;
let next = 0;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-warm-'));
  mkdirSync(path.join(dir, 'layer'));
  db = openDatabase(':memory:');
  runtime = new FakeRuntime();
  store = new SandboxStore(db);
  network = new NetworkRange('10.252.0.0/16');
});

afterEach(async () => {
  await service?.close();
  service = undefined;
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(settings: Partial<Config> = {}): SandboxService {
  const templates = new TemplateStore(db);
  templates.upsert({
    id: 'base', alias: 'base', layers: [path.join(dir, 'layer')], cpuCount: 1, memoryMB: 256, diskSizeMB: 1024, startCmd: null,
    readyPort: null, ...notBuilt, createdAt: Date.now(),
  });
  const config = loadConfig({ dataDir: dir, warmPoolSize: 0, warmPausedMax: 8, warmPausedMinFreeMB: 1024, ...settings });
  service = new SandboxService({
    config, store, operations: new OperationStore(db), templates, snapshots: new SnapshotStore(db), bootStates: new BootStateStore(db), runtime, network,
    log: pino({ level: 'silent' }),
  });
  return service;
}

/** A running sandbox, as a create leaves it. */
function running(): string {
  const index = next++;
  const rec = store.insert({
    id: `w${String(index).padStart(19, '0')}`, templateId: 'base', alias: 'base', state: 'running', envdToken: 't', metadata: {}, envVars: {},
    cpuCount: 1, memoryMB: 256, diskSizeMB: 1024, startedAt: Date.now(), endAt: Date.now() + 600_000, autoPause: false,
    autoResume: false, allowInternetAccess: true, networkIndex: index, timeoutSeconds: 600, pausedAt: null,
    idleTimeoutSeconds: null, networkRules: null, layers: [path.join(dir, 'layer')], startCmd: null,
  });
  runtime.sandboxes.set(rec.id, { spec: { id: rec.id, layers: [], cpuCount: 1, memoryMB: 256, pidsLimit: 64, network: network.lease(index) }, container: 'running' });
  return rec.id;
}

const containerOf = (id: string) => runtime.sandboxes.get(id)?.container;
const stateOf = (id: string) => store.get(id)?.state ?? 'gone';
const hasCheckpoint = (id: string) => runtime.checkpointIsWhole({ kind: 'pause', name: id });

describe('warm pauses', () => {
  it('a pause writes a whole checkpoint and leaves the processes frozen; a resume thaws them and drops the checkpoint', async () => {
    const s = start();
    const id = running();
    assert.equal(await s.pause(id), true);
    assert.equal(stateOf(id), 'paused');
    assert.equal(containerOf(id), 'frozen');
    assert.ok(hasCheckpoint(id), 'a crash now loses nothing');
    assert.deepEqual(s.warmPaused(), [id]);
    assert.equal((await s.connect(id, 60)).state, 'running');
    assert.equal(containerOf(id), 'running');
    assert.ok(runtime.calls.includes(`thaw ${id}`));
    assert.ok(!runtime.calls.includes(`restore ${id}`), 'a thaw, not a restore');
    assert.equal(hasCheckpoint(id), false);
    assert.deepEqual(s.warmPaused(), []);
  });

  it('past the count setting the oldest is evicted: it stays paused with its checkpoint, and a resume restores it', async () => {
    const s = start({ warmPausedMax: 1 });
    const [older, newer] = [running(), running()];
    await s.pause(older);
    await s.pause(newer);
    assert.deepEqual(s.warmPaused(), [newer]);
    assert.equal(containerOf(older), 'absent', 'its processes are ended');
    assert.equal(stateOf(older), 'paused');
    assert.ok(hasCheckpoint(older));
    assert.equal((await s.connect(older, 60)).state, 'running');
    assert.ok(runtime.calls.includes(`restore ${older}`));
    assert.equal(containerOf(newer), 'frozen', 'the newer one stays warm');
  });

  it('under the memory setting the oldest are evicted, one at a time, until enough is available', async () => {
    const s = start({ warmPausedMax: 8, warmPausedMinFreeMB: 1024 });
    const ids = [running(), running(), running()];
    // Each frozen sandbox holds 200 MiB of a host with 2000 MiB available without them; eviction
    // starts 512 MiB above the floor, at 1536 MiB.
    Object.defineProperty(runtime, 'resources', {
      get: () => {
        const frozen = [...runtime.sandboxes.values()].filter((x) => x.container === 'frozen').length;
        return { memoryAvailableBytes: (2000 - 200 * frozen) * MiB, diskAvailableBytes: 2 ** 40 };
      },
    });
    await s.pause(ids[0]!);
    await s.pause(ids[1]!);
    assert.deepEqual(s.warmPaused(), [ids[0], ids[1]], '1600 MiB available: both stay warm');
    await s.pause(ids[2]!);
    assert.deepEqual(s.warmPaused(), [ids[1], ids[2]], 'the oldest gave its memory back');
    assert.equal(containerOf(ids[0]!), 'absent');
    assert.ok(hasCheckpoint(ids[0]!));
  });

  it('a warm sandbox that cannot be thawed is restored from its checkpoint', async () => {
    const s = start();
    const id = running();
    await s.pause(id);
    runtime.failNext('thaw');
    assert.equal((await s.connect(id, 60)).state, 'running');
    assert.ok(runtime.calls.includes(`endFrozen ${id}`) && runtime.calls.includes(`restore ${id}`));
    assert.equal(containerOf(id), 'running');
  });

  it('an eviction ends the processes as a cold pause does; when that fails they are killed, the checkpoint kept', async () => {
    const s = start({ warmPausedMax: 1 });
    const [a, b, c] = [running(), running(), running()];
    await s.pause(a);
    await s.pause(b);
    assert.ok(runtime.calls.includes(`endFrozen ${a}`));
    runtime.failNext('endFrozen');
    await s.pause(c);
    assert.ok(runtime.calls.includes(`clearStopped ${b}`));
    assert.equal(containerOf(b), 'absent');
    assert.ok(hasCheckpoint(b));
    assert.deepEqual(s.warmPaused(), [c]);
  });

  it('a kill of a warm sandbox removes it and its checkpoint; it is no longer counted', async () => {
    const s = start();
    const id = running();
    await s.pause(id);
    assert.equal(await s.kill(id), true);
    assert.equal(stateOf(id), 'gone');
    assert.equal(runtime.sandboxes.has(id), false);
    assert.equal(hasCheckpoint(id), false);
    assert.deepEqual(s.warmPaused(), []);
  });

  it('at shutdown every warm sandbox is evicted to its checkpoint', async () => {
    const s = start();
    const ids = [running(), running()];
    for (const id of ids) await s.pause(id);
    await s.close();
    service = undefined;
    for (const id of ids) {
      assert.equal(containerOf(id), 'absent');
      assert.equal(stateOf(id), 'paused');
      assert.ok(hasCheckpoint(id));
    }
  });

  it('with the count setting at 0 a pause is cold, as before', async () => {
    const s = start({ warmPausedMax: 0 });
    const id = running();
    await s.pause(id);
    assert.equal(containerOf(id), 'absent');
    assert.deepEqual(s.warmPaused(), []);
    await s.connect(id, 60);
    assert.ok(runtime.calls.includes(`restore ${id}`));
  });
});
