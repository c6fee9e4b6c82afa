// What every isolation backend owes `sandboxes/` (the Runtime interface in runtime.ts), as one
// suite that each backend's test file runs against itself with real sandboxes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NetworkRange } from './network/network-lease.js';
import type { CheckpointRef, Runtime, SandboxSpec } from './runtime.js';

export interface ContractSetup {
  runtime: Runtime;
  /** Root filesystem layers whose sandboxes have a main program that `waitReady` can wait for. */
  layers: string[];
  /** Resolves once the main program of the sandbox at `address` answers; throws after `timeoutMs`. */
  waitReady(address: string, timeoutMs: number): Promise<void>;
  network: NetworkRange;
  /** A folder the suite may fill with checkpoints. */
  scratchDir: string;
  dispose(): Promise<void>;
}

const memoryMB = 256;

export function runtimeContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`runtime contract: ${name}`, () => {
    let s: ContractSetup;
    let next = 0;
    const made: string[] = [];
    const spec = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => {
      const index = next++;
      // Ids like the service's: unique in their first characters, which name host interfaces.
      const id = `k${randomBytes(10).toString('hex').slice(0, 19)}`;
      made.push(id);
      return { id, layers: s.layers, cpuCount: 1, memoryMB, pidsLimit: 512, network: s.network.lease(index), ...overrides };
    };
    const running = async (id: string) => (await s.runtime.listRunning()).includes(id);
    /** Creates the sandbox and waits until it answers. */
    const started = async (sp: SandboxSpec) => {
      await s.runtime.create(sp);
      await s.waitReady(sp.network.sandboxAddress, 15_000);
    };
    const present = async (id: string) => (await s.runtime.listPresent()).includes(id);
    /** Checks that a thawed or restored sandbox answers and runs, then removes it and its checkpoint. */
    const backThenRemoved = async (sp: SandboxSpec, ref: CheckpointRef) => {
      await s.waitReady(sp.network.sandboxAddress, 5000);
      assert.ok(await running(sp.id));
      await s.runtime.deleteCheckpoint(ref);
      await s.runtime.destroy(sp.id);
    };

    before(async () => {
      s = await setup();
    });
    after(async () => {
      for (const id of made) await s.runtime.destroy(id);
      await s.dispose();
    });

    it('create starts the sandbox on its address with its limits; destroy removes it and may be repeated', async () => {
      const sp = spec();
      await started(sp);
      assert.ok(await running(sp.id));
      const stats = await s.runtime.stats(sp.id);
      assert.equal(stats?.memoryLimitBytes, memoryMB * 1024 * 1024);
      assert.ok(stats.pids > 0 && stats.cpuUsageNs > 0);
      await s.runtime.destroy(sp.id);
      assert.equal(await present(sp.id), false);
      assert.equal(await s.runtime.stats(sp.id), undefined);
      await s.runtime.destroy(sp.id);
    });

    it('commit keeps the writable layer as a folder and removes the rest of the sandbox', async () => {
      const sp = spec();
      await started(sp);
      await mkdir(s.scratchDir, { recursive: true });
      const to = path.join(s.scratchDir, `layer-${sp.id}`);
      await s.runtime.commit(sp.id, to);
      assert.ok((await stat(to)).isDirectory());
      assert.equal(await present(sp.id), false);
      assert.equal(await running(sp.id), false);
    });

    it('a create that fails leaves nothing of the sandbox behind', async () => {
      const sp = spec({ layers: [path.join(s.scratchDir, 'no-such-layer')] });
      await assert.rejects(s.runtime.create(sp));
      assert.equal(await present(sp.id), false);
    });

    it('a stop checkpoint ends the sandbox but keeps it present; a restore brings it back', async () => {
      const sp = spec();
      const ref = { kind: 'pause' as const, name: sp.id };
      await started(sp);
      await s.runtime.checkpoint(sp.id, ref, 'stop');
      assert.equal(await running(sp.id), false);
      assert.ok(await present(sp.id));
      assert.ok(s.runtime.checkpointIsWhole(ref));
      await s.runtime.restore(sp, { checkpoint: ref, withSavedLayer: false });
      await s.waitReady(sp.network.sandboxAddress, 5000);
      assert.ok(await running(sp.id));
      await s.runtime.discardCheckpoint(ref);
      assert.equal(s.runtime.checkpointIsWhole(ref), false);
      assert.ok(!(await s.runtime.listCheckpoints('pause')).includes(sp.id));
      await s.runtime.destroy(sp.id);
    });

    it('a freeze checkpoint is whole and leaves the sandbox frozen; thaw lets it run on', async () => {
      const sp = spec();
      const ref = { kind: 'pause' as const, name: sp.id };
      await started(sp);
      await assert.rejects(s.runtime.thaw(sp.id), 'a running sandbox has nothing to thaw');
      await s.runtime.checkpoint(sp.id, ref, 'freeze');
      assert.ok(s.runtime.checkpointIsWhole(ref));
      assert.equal((await s.runtime.inspect()).get(sp.id), 'frozen');
      assert.equal(await running(sp.id), false);
      await s.runtime.thaw(sp.id);
      await backThenRemoved(sp, ref);
    });

    it('endFrozen ends a frozen sandbox as a stop checkpoint does, its checkpoint whole and alone; a restore brings it back', async () => {
      const sp = spec();
      const ref = { kind: 'pause' as const, name: sp.id };
      await started(sp);
      await assert.rejects(s.runtime.endFrozen(sp.id, ref), 'a running sandbox is not frozen');
      assert.ok(await running(sp.id), 'and it runs on');
      await s.runtime.checkpoint(sp.id, ref, 'freeze');
      await s.runtime.endFrozen(sp.id, ref);
      assert.equal((await s.runtime.inspect()).get(sp.id), undefined);
      assert.ok(s.runtime.checkpointIsWhole(ref));
      assert.deepEqual((await s.runtime.listCheckpoints('pause')).filter((n) => n.startsWith(sp.id)), [sp.id]);
      await s.runtime.restore(sp, { checkpoint: ref, withSavedLayer: false });
      await backThenRemoved(sp, ref);
    });

    it('clearStopped kills a frozen sandbox and keeps its checkpoint, which a restore brings back; destroy removes a frozen one', async () => {
      const sp = spec();
      const ref = { kind: 'pause' as const, name: sp.id };
      await started(sp);
      await s.runtime.checkpoint(sp.id, ref, 'freeze');
      await s.runtime.clearStopped(sp.id);
      assert.equal((await s.runtime.inspect()).get(sp.id), undefined);
      assert.ok(await present(sp.id));
      assert.ok(await s.runtime.finishStopCheckpoint(ref));
      await s.runtime.restore(sp, { checkpoint: ref, withSavedLayer: false });
      await s.waitReady(sp.network.sandboxAddress, 5000);
      assert.ok(await running(sp.id));
      await s.runtime.deleteCheckpoint(ref);
      await s.runtime.checkpoint(sp.id, ref, 'freeze');
      await s.runtime.destroy(sp.id);
      assert.equal(await present(sp.id), false);
      await s.runtime.deleteCheckpoint(ref);
    });

    it('a snapshot checkpoint lets the sandbox run on, and another sandbox starts from it', async () => {
      const source = spec();
      const ref = { kind: 'clone' as const, name: `saved-${source.id}` };
      await started(source);
      await s.runtime.checkpoint(source.id, ref, 'snapshot');
      assert.ok(s.runtime.checkpointIsWhole(ref));
      assert.ok((await s.runtime.listCheckpoints('clone')).includes(ref.name));
      assert.ok(await running(source.id));
      const copy = spec();
      await s.runtime.restore(copy, { checkpoint: ref, withSavedLayer: true, checkpointAddress: source.network.sandboxAddress });
      await s.waitReady(copy.network.sandboxAddress, 5000);
      await s.waitReady(source.network.sandboxAddress, 5000);
      await Promise.all([s.runtime.destroy(source.id), s.runtime.destroy(copy.id), s.runtime.deleteCheckpoint(ref)]);
      assert.equal(s.runtime.checkpointIsWhole(ref), false);
      assert.equal(await present(copy.id), false);
    });

    it('after a restart: inspect sees a running sandbox and not a paused one; adopt, settle and clearStopped keep what is there', async () => {
      const sp = spec();
      const ref = { kind: 'pause' as const, name: sp.id };
      await started(sp);
      await s.runtime.settle();
      assert.equal((await s.runtime.inspect()).get(sp.id), 'running');
      await s.runtime.adopt(sp.id);
      assert.ok(await running(sp.id));
      await s.runtime.checkpoint(sp.id, ref, 'stop');
      assert.equal((await s.runtime.inspect()).get(sp.id), undefined);
      assert.ok(await s.runtime.finishStopCheckpoint(ref));
      await s.runtime.clearStopped(sp.id);
      await s.runtime.restore(sp, { checkpoint: ref, withSavedLayer: false });
      await backThenRemoved(sp, ref);
    });

    it('a checkpoint that fails leaves nothing of itself', async () => {
      const ref = { kind: 'pause' as const, name: 'contract-no-such-sandbox' };
      await assert.rejects(s.runtime.checkpoint('contract-no-such-sandbox', ref, 'stop'));
      assert.equal(s.runtime.checkpointIsWhole(ref), false);
      assert.equal(await s.runtime.finishStopCheckpoint(ref), false);
      assert.ok(!(await s.runtime.listCheckpoints('pause')).includes(ref.name));
    });
  });
}
