// Pause and resume with memory: a pause saves every process of the sandbox (`stop` checkpoint) and
// keeps its writable layer and network; connect resumes a paused sandbox or extends a running
// one's deadline. The state written before the runtime acts (`pausing`, `resuming`) is the intent
// recovery reads (state.ts).
import { errors } from '../errors.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { Lifecycle } from './lifecycle.js';
import { pauseCheckpoint } from './saved-states.js';

export class Persistence {
  constructor(private readonly lc: Lifecycle) {}

  /**
   * Connect: a paused sandbox is resumed with the given timeout; a running one has its deadline
   * extended to at least now + timeout, never shortened.
   */
  connect(id: string, timeoutSeconds: number, get: (id: string) => SandboxRecord): Promise<SandboxRecord> {
    return this.lc.queue.run(id, async () => {
      const rec = get(id);
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
    const checkpoint = pauseCheckpoint(rec.id);
    return this.lc.operate('resume', rec.id, { timeoutSeconds }, async () => {
      try {
        await this.lc.runtime.restore(this.lc.records.spec(rec), { checkpoint, withSavedLayer: false });
      } catch (err) {
        this.lc.transition({ ...rec, state: 'resuming' }, 'paused');
        throw errors.resumeFailed(rec.id, err);
      }
      const endAt = Date.now() + timeoutSeconds * 1000;
      this.lc.store.setResumed(rec.id, endAt);
      await this.lc.runtime.discardCheckpoint(checkpoint);
      const resumed: SandboxRecord = { ...rec, state: 'running', pausedAt: null, endAt };
      this.lc.armTimers(resumed);
      return resumed;
    }, () => this.lc.transition(rec, 'resuming'));
  }

  /** Pauses a running sandbox; false when it was already paused. */
  pause(id: string, get: (id: string) => SandboxRecord): Promise<boolean> {
    return this.lc.queue.run(id, async () => {
      const rec = get(id);
      if (rec.state === 'paused') return false;
      if (rec.state !== 'running') throw errors.sandboxNotRunning(id, rec.state);
      await this.pauseNow(rec);
      return true;
    });
  }

  /** Pauses a sandbox known to be running (a caller holds its queue). */
  pauseNow(rec: SandboxRecord): Promise<void> {
    return this.lc.operate('pause', rec.id, {}, async () => {
      this.lc.timers.clear(rec.id);
      this.lc.idleTimers.clear(rec.id);
      this.lc.emit('stopping', rec.id);
      try {
        await this.lc.runtime.checkpoint(rec.id, pauseCheckpoint(rec.id), 'stop');
      } catch (err) {
        this.lc.transition({ ...rec, state: 'pausing' }, 'running');
        this.lc.armTimers(rec);
        throw errors.pauseFailed(rec.id, err);
      }
      const pausedAt = Date.now();
      this.lc.operations.durably(() => this.lc.store.setPaused(rec.id, pausedAt));
      this.lc.armTimers({ ...rec, state: 'paused', pausedAt });
    }, () => this.lc.transition(rec, 'pausing'));
  }
}
