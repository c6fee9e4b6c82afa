// What a sandbox's deadlines do: at its timeout it is killed, or paused when auto-pause is on; a
// paused one is deleted at the end of its retention; one with an idle timeout is killed after that
// long without traffic.
import type { Lifecycle } from './lifecycle.js';
import type { Persistence } from './persistence.js';

export class Expiry {
  constructor(
    private readonly lc: () => Lifecycle,
    private readonly persistence: () => Persistence,
  ) {}

  onDeadline(id: string): void {
    const lc = this.lc();
    const rec = lc.store.get(id);
    if (!rec) return;
    const pause = rec.state === 'running' && rec.autoPause;
    const act = pause
      ? lc.queue.run(id, async () => {
          const now = lc.store.get(id);
          if (now?.state === 'running') await this.persistence().pauseNow(now);
        })
      : lc.kill(id);
    act.catch((err) => lc.log.error({ sandboxId: id, err }, `${pause ? 'pause' : 'kill'} at the deadline failed`));
  }

  onIdleCheck(id: string): void {
    const lc = this.lc();
    if (!this.idle(lc, id)) return;
    // Traffic the data plane relays is read from its counters every 2 s: read it now, so that a
    // call made since does not go unseen.
    const probed = lc.trafficProbe?.() ?? Promise.resolve();
    void probed.then(() => {
      if (!this.idle(lc, id)) return;
      const rec = lc.store.get(id);
      lc.log.info({ sandboxId: id, idleTimeoutSeconds: rec?.idleTimeoutSeconds }, 'idle timeout reached: killing');
      lc.kill(id).catch((err) => lc.log.error({ sandboxId: id, err }, 'kill after the idle timeout failed'));
    });
  }

  /** Whether the sandbox has had no traffic for its idle timeout; if it had some, its check is
   *  put off to the new end of the timeout. */
  private idle(lc: Lifecycle, id: string): boolean {
    const rec = lc.store.get(id);
    if (!rec || rec.state !== 'running' || rec.idleTimeoutSeconds === null) return false;
    const idleUntil = (lc.lastActivity.get(id) ?? Date.now()) + rec.idleTimeoutSeconds * 1000;
    if (idleUntil > Date.now()) {
      lc.idleTimers.set(id, idleUntil);
      return false;
    }
    return true;
  }
}
