// After a restart, crash or not: wait for what the dead server left going on the host, ask the
// runtime what exists, apply the rule of each sandbox's state (state.ts) and of each operation the
// journal shows unfinished, then remove whatever nothing owns.
import type { OperationRecord } from '../store/operation-store.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { CloneDetail, SnapshotDetail } from './clones.js';
import type { Lifecycle } from './lifecycle.js';
import { egressOf } from './sandbox-records.js';
import { bootCheckpoint, pauseCheckpoint, snapshotCheckpoint } from './saved-states.js';
import { isHidden, recoveryAction } from './state.js';
import { endFrozen } from './warm-pauses.js';
import type { NetworkRules } from '../store/sandbox-store.js';

export interface RecoveryReport {
  running: number;
  paused: number;
  removed: number;
  operations: number;
}

export async function recover(lc: Lifecycle): Promise<RecoveryReport> {
  const { runtime, store, operations, log } = lc;
  const report: RecoveryReport = { running: 0, paused: 0, removed: 0, operations: 0 };
  await runtime.settle();
  const open = operations.open();
  // Undo first what was never answered for (clones, snapshots); the states' rules follow.
  for (const op of open) await undoOperation(lc, op, report);
  const containers = await runtime.inspect();
  for (const rec of store.all()) {
    const container = containers.get(rec.id) ?? 'absent';
    // Paused without its memory, a sandbox is its kept files: there is no checkpoint to find.
    const filesOnly = rec.state === 'paused' && store.pauseOptions(rec.id).pausedWithoutMemory;
    // A frozen one may be paused warm: its checkpoint decides, as for one whose processes are gone.
    const checkpointWhole = container !== 'running' && (filesOnly || (await runtime.finishStopCheckpoint(pauseCheckpoint(rec.id))));
    const action = recoveryAction(rec.state, { container, checkpointWhole });
    const sandboxLog = log.child({ sandboxId: rec.id });
    try {
      if (action === 'destroy') {
        // Hidden ones were never answered for or were being killed: removing them is their rule.
        if (!isHidden(rec.state)) {
          sandboxLog.error({ state: rec.state, container }, `sandbox ${rec.id} was ${rec.state} but its processes are gone and it has no whole checkpoint: removed`);
        }
        await lc.destroy(rec);
        report.removed++;
        continue;
      }
      const now = action === 'run' ? await keepRunning(lc, rec) : await keepPaused(lc, rec, container);
      if (expired(lc, now)) {
        await lc.destroy(now);
        report.removed++;
        continue;
      }
      lc.armTimers(now);
      report[now.state === 'running' ? 'running' : 'paused']++;
      if (rec.state !== 'running' && rec.state !== 'paused') sandboxLog.info({ from: rec.state, action }, `sandbox ${rec.id} recovered from ${rec.state}`);
    } catch (err) {
      sandboxLog.error({ err, state: rec.state, action }, `recovering sandbox ${rec.id} failed; left as it was`);
    }
  }
  // Operations whose sandbox lives on: an interrupted network update is finished with its rules.
  for (const op of open) await finishOperation(lc, op, report);
  await sweepSavedStates(lc);
  const known = new Set(store.all().map((r) => r.id));
  for (const id of await runtime.listPresent()) {
    if (known.has(id)) continue;
    await runtime.destroy(id);
    report.removed++;
  }
  operations.prune();
  return report;
}

/** A sandbox whose processes live: thawed and tidied by the runtime, its pause checkpoint (if a
 *  resume was cut short after the restore) dropped. A resume cut short gets a fresh timeout. Its
 *  outbound rules are written again, so the defaults of this server (refused ranges, the
 *  operator's exceptions, resolvers) hold for sandboxes started by an older one. */
async function keepRunning(lc: Lifecycle, rec: SandboxRecord): Promise<SandboxRecord> {
  await lc.runtime.adopt(rec.id);
  if (rec.networkIndex !== null) {
    // A rule that no longer applies (a name that stopped resolving) keeps the old rules: the
    // sandbox runs on, and the failure is logged.
    await lc.runtime.updateEgress(rec.id, lc.records.lease(rec), egressOf(rec.allowInternetAccess, rec.networkRules)).catch((err: Error) => {
      lc.log.error({ sandboxId: rec.id, err }, `rewriting the outbound rules of sandbox ${rec.id} after a restart failed; it keeps the ones it had`);
    });
  }
  const endAt = rec.state === 'resuming' ? Math.max(rec.endAt, Date.now() + lc.config.defaultTimeoutSeconds * 1000) : rec.endAt;
  if (rec.state !== 'running') lc.store.setResumed(rec.id, endAt);
  await lc.runtime.deleteCheckpoint(pauseCheckpoint(rec.id));
  return { ...rec, state: 'running', pausedAt: null, endAt };
}

/** A sandbox with a whole pause checkpoint: paused cold, any half-restored container removed, and
 *  processes a warm pause left frozen ended as a cold pause ends them. */
async function keepPaused(lc: Lifecycle, rec: SandboxRecord, container: string): Promise<SandboxRecord> {
  if (container === 'stopped') await lc.runtime.clearStopped(rec.id);
  if (container === 'frozen') await endFrozen(lc, rec.id);
  const pausedAt = rec.pausedAt ?? Date.now();
  if (rec.state !== 'paused') lc.store.setPaused(rec.id, pausedAt);
  return { ...rec, state: 'paused', pausedAt };
}

/** Whether a kept sandbox's time ran out while the server was down: a running one past its
 *  deadline without auto-pause (with it, the armed timer pauses it), a paused one past retention. */
function expired(lc: Lifecycle, rec: SandboxRecord): boolean {
  if (rec.state === 'paused') return rec.startedAt + lc.config.pausedRetentionSeconds * 1000 <= Date.now();
  return rec.endAt <= Date.now() && !rec.autoPause;
}

/** Clones and snapshots a crash cut short leave nothing of themselves. */
async function undoOperation(lc: Lifecycle, op: OperationRecord, report: RecoveryReport): Promise<void> {
  if (op.kind === 'clone') {
    const detail = op.detail as unknown as CloneDetail;
    for (const id of detail.clones ?? []) {
      const rec = lc.store.get(id);
      if (rec) {
        await lc.destroy(rec);
        report.removed++;
      }
    }
    if (detail.image) await lc.runtime.deleteCheckpoint({ kind: 'clone', name: detail.image });
  } else if (op.kind === 'snapshot') {
    const detail = op.detail as unknown as SnapshotDetail;
    lc.snapshots.delete(detail.snapshotId);
    await lc.runtime.deleteCheckpoint(snapshotCheckpoint(detail.snapshotId));
  } else {
    return;
  }
  lc.operations.finish(op.id, 'recovered', 'undone after a restart');
  lc.log.warn({ op: op.kind, sandboxId: op.sandboxId, journalId: op.id }, `${op.kind} of ${op.sandboxId} was cut short by a restart: undone`);
  report.operations++;
}

async function finishOperation(lc: Lifecycle, op: OperationRecord, report: RecoveryReport): Promise<void> {
  if (op.kind === 'clone' || op.kind === 'snapshot') return;
  const rec = lc.store.get(op.sandboxId);
  if (op.kind === 'network' && rec && rec.networkIndex !== null) {
    const rules = (op.detail.rules ?? null) as NetworkRules | null;
    try {
      await lc.runtime.updateEgress(rec.id, lc.records.lease(rec), egressOf(rec.allowInternetAccess, rules));
      lc.store.setNetworkRules(rec.id, rules);
    } catch (err) {
      lc.log.error({ sandboxId: rec.id, err }, 'finishing a network update after a restart failed');
    }
  }
  lc.operations.finish(op.id, 'recovered', 'finished by the state rules after a restart');
  lc.log.info({ op: op.kind, sandboxId: op.sandboxId, journalId: op.id }, `${op.kind} of ${op.sandboxId} was cut short by a restart: finished by recovery`);
  report.operations++;
}

/** Saved states nothing refers to: pause checkpoints of sandboxes not paused (and discarded
 *  ones), clone images, snapshots and boot states without their record. */
async function sweepSavedStates(lc: Lifecycle): Promise<void> {
  const owned = new Set([
    ...lc.store.all().filter((r) => r.state === 'paused').map((r) => `pause/${r.id}`),
    ...lc.snapshots.all().map((s) => `snapshot/${snapshotCheckpoint(s.id).name}`),
    ...lc.bootStates.all().map((b) => `boot/${bootCheckpoint(b).name}`),
  ]);
  for (const kind of ['pause', 'clone', 'snapshot', 'boot'] as const) {
    for (const name of await lc.runtime.listCheckpoints(kind)) {
      if (!owned.has(`${kind}/${name}`)) await lc.runtime.deleteCheckpoint({ kind, name });
    }
  }
}
