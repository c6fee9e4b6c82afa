// Pause and resume with memory: a pause saves every process of the sandbox and keeps its writable
// layer and network; connect resumes a paused sandbox or extends a running one's deadline. The
// state written before the runtime acts (`pausing`, `resuming`) is the intent recovery reads
// (state.ts).
// A pause is warm while the settings allow (warm-pauses.ts): the checkpoint is written whole all
// the same (a crash loses nothing), but the processes stay frozen in memory (`freeze` checkpoint)
// and a resume thaws them. An evicted one, or one paused cold, is restored from its checkpoint.
// A pause without memory (e2b's keepMemory: false) ends the processes without saving them,
// keeping the writable layer and network, and boots the sandbox again over them on resume.
import { errors } from '../errors.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import { serviceReadyTimeoutMs, type Lifecycle } from './lifecycle.js';
import { pauseCheckpoint } from './saved-states.js';
import { bringUpService, hasService } from './template-service.js';
import { endFrozen } from './warm-pauses.js';

export class Persistence {
  constructor(private readonly lc: Lifecycle) {}

  /**
   * Connect: a paused sandbox is resumed with the given timeout (booted again when it was paused
   * without its memory, or `reboot` asks for that); a running one has its deadline extended to at
   * least now + timeout, never shortened.
   */
  connect(id: string, timeoutSeconds: number, get: (id: string) => SandboxRecord, reboot = false): Promise<SandboxRecord> {
    return this.lc.queue.run(id, async () => {
      const rec = get(id);
      if (rec.state === 'paused' && reboot && !this.lc.store.pauseOptions(id).pausedWithoutMemory) {
        // e2b's onResume 'reboot' of a sandbox paused with its memory: restored, then ended
        // without it, then booted (a restore is what releases what the pause's checkpoint holds).
        const running = await this.resume(rec, timeoutSeconds);
        await this.pauseNow(running, false);
        return this.reboot(get(id), timeoutSeconds);
      }
      if (rec.state === 'paused') return this.resume(rec, timeoutSeconds);
      const endAt = Math.max(rec.endAt, Date.now() + timeoutSeconds * 1000);
      if (endAt !== rec.endAt) {
        this.lc.store.setEndAt(id, endAt);
        this.lc.timers.set(id, endAt);
      }
      return { ...rec, endAt };
    });
  }

  private resume(rec: SandboxRecord, timeoutSeconds: number): Promise<SandboxRecord> {
    if (this.lc.store.pauseOptions(rec.id).pausedWithoutMemory) return this.reboot(rec, timeoutSeconds);
    const checkpoint = pauseCheckpoint(rec.id);
    // The caller holds the sandbox's queue: no eviction can come between this and the thaw.
    const warm = this.lc.warm.forget(rec.id);
    return this.lc.operate('resume', rec.id, { timeoutSeconds, warm }, async () => {
      try {
        if (!warm || !(await this.thawed(rec))) await this.lc.runtime.restore(this.lc.records.spec(rec), { checkpoint, withSavedLayer: false });
      } catch (err) {
        this.lc.transition({ ...rec, state: 'resuming' }, 'paused');
        throw errors.resumeFailed(rec.id, err);
      }
      const endAt = Date.now() + timeoutSeconds * 1000;
      this.lc.store.setResumed(rec.id, endAt);
      await this.lc.runtime.discardCheckpoint(checkpoint);
      return this.lc.markResumed(rec, endAt);
    }, () => this.lc.transition(rec, 'resuming'));
  }

  /** Thaws a warm-paused sandbox; false when that failed and its processes were ended instead (it
   *  is then restored from its checkpoint). */
  private async thawed(rec: SandboxRecord): Promise<boolean> {
    try {
      await this.lc.runtime.thaw(rec.id);
      return true;
    } catch (err) {
      this.lc.log.warn({ sandboxId: rec.id, err }, `thawing warm-paused sandbox ${rec.id} failed; restoring it from its checkpoint`);
      await endFrozen(this.lc, rec.id);
      return false;
    }
  }

  /** Resume of a sandbox paused without its memory: its processes boot again (envd, then the
   *  template's service) over the writable layer and network the pause kept. */
  private reboot(rec: SandboxRecord, timeoutSeconds: number): Promise<SandboxRecord> {
    return this.lc.operate('resume', rec.id, { timeoutSeconds, reboot: true }, async () => {
      try {
        await this.lc.runtime.create(this.lc.records.spec(rec));
        await this.lc.init(rec);
        const template = this.lc.templates.find(rec.templateId);
        if (template && hasService(template)) {
          await bringUpService(this.lc.records.addressOf(rec), template, serviceReadyTimeoutMs, rec.envdToken);
        }
      } catch (err) {
        // The runtime removed what a failed boot made, the kept layer with it: nothing to resume.
        await this.lc.destroy({ ...rec, state: 'resuming' }).catch((e) => this.lc.log.error({ sandboxId: rec.id, err: e }, 'removing a sandbox whose reboot failed failed'));
        throw errors.rebootFailed(rec.id, err);
      }
      const endAt = Date.now() + timeoutSeconds * 1000;
      this.lc.store.setPausedWithoutMemory(rec.id, false);
      this.lc.store.setResumed(rec.id, endAt);
      return this.lc.markResumed(rec, endAt);
    }, () => this.lc.transition(rec, 'resuming'));
  }

  /** Pauses a running sandbox; false when it was already paused. `keepMemory` false keeps only
   *  its files: its processes boot again at resume. */
  async pause(id: string, get: (id: string) => SandboxRecord, keepMemory = true): Promise<boolean> {
    const paused = await this.lc.queue.run(id, async () => {
      const rec = get(id);
      if (rec.state === 'paused') return false;
      if (rec.state !== 'running') throw errors.sandboxNotRunning(id, rec.state);
      await this.pauseNow(rec, keepMemory);
      return true;
    });
    // Answered once the warm sandboxes are within the settings again (outside the queue: the
    // eviction may be of this very sandbox).
    if (paused) await this.lc.warm.relieve();
    return paused;
  }

  /** Pauses a sandbox known to be running (a caller holds its queue); without `keepMemory`, as
   *  the sandbox was created to pause at its timeout. */
  pauseNow(rec: SandboxRecord, keepMemory = this.lc.store.pauseOptions(rec.id).autoPauseMemory): Promise<void> {
    const warm = keepMemory && this.lc.warm.enabled;
    return this.lc.operate('pause', rec.id, { keepMemory, warm }, async () => {
      this.lc.timers.clear(rec.id);
      this.lc.idleTimers.clear(rec.id);
      this.lc.emit('stopping', rec.id);
      try {
        // Without memory nothing is saved: the container goes, its layer and network stay.
        if (keepMemory) await this.lc.runtime.checkpoint(rec.id, pauseCheckpoint(rec.id), warm ? 'freeze' : 'stop');
        else await this.lc.runtime.clearStopped(rec.id);
      } catch (err) {
        this.lc.transition({ ...rec, state: 'pausing' }, 'running');
        this.lc.armTimers(rec);
        throw errors.pauseFailed(rec.id, err);
      }
      const pausedAt = Date.now();
      this.lc.operations.durably(() => {
        this.lc.store.setPausedWithoutMemory(rec.id, !keepMemory);
        this.lc.store.setPaused(rec.id, pausedAt);
      });
      if (warm) this.lc.warm.add(rec.id);
      this.lc.armTimers({ ...rec, state: 'paused', pausedAt });
    }, () => this.lc.transition(rec, 'pausing'));
  }
}
