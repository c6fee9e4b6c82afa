// Sandboxes paused warm: their pause checkpoint is whole on disk, and their processes wait frozen
// in memory (no CPU, their memory still held) so that a resume is a thaw. They are evicted — their
// processes ended by the runtime as a cold pause ends them, the checkpoint kept, so a resume
// restores from disk as after a cold pause —
// oldest first when more than SANDCASTLE_WARM_PAUSED_MAX are warm or the host's available memory
// comes within 512 MiB of SANDCASTLE_WARM_PAUSED_MIN_FREE_MB (checked after each pause, every second
// while any is warm, and before a start is admitted), and all of them at shutdown. Which ones are warm lives
// in memory only: a restarted server finds them frozen and recovery pauses them cold (state.ts).
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { OperationQueue } from '../operation-queue.js';
import type { Runtime } from '../runtime/runtime.js';
import { pauseCheckpoint } from './saved-states.js';

/** What warm pauses use of the lifecycle that holds them (lifecycle.ts). */
export interface WarmPausesHost {
  readonly config: Pick<Config, 'warmPausedMax' | 'warmPausedMinFreeMB'>;
  readonly runtime: Pick<Runtime, 'endFrozen' | 'clearStopped' | 'hostResources'>;
  readonly log: Logger;
  /** Each sandbox's operations, one after another. */
  readonly queue: OperationQueue;
  on(event: 'stopping', listener: (id: string) => void): unknown;
}

const MiB = 1024 * 1024;
const watchIntervalMs = 1000;
/** Eviction starts this far above the free-memory floor: pauses and creates in flight keep taking
 *  memory while an eviction (a dump, up to a second) frees it, and the floor is to hold. */
const headroomMiB = 512;

export class WarmPauses {
  /** Warm sandboxes' ids; insertion order is oldest pause first. */
  private readonly warm = new Set<string>();
  private watch: NodeJS.Timeout | undefined;
  /** Checks run one after another: two at once would evict what one would have. */
  private checks: Promise<void> = Promise.resolve();

  constructor(private readonly lc: WarmPausesHost) {
    // A kill (or a pause starting) ends whatever warmth the sandbox had.
    lc.on('stopping', (id) => this.forget(id));
  }

  /** Whether pauses keep processes in memory (SANDCASTLE_WARM_PAUSED_MAX above 0). */
  get enabled(): boolean {
    return this.lc.config.warmPausedMax > 0;
  }

  has(id: string): boolean {
    return this.warm.has(id);
  }

  /** Warm sandboxes, oldest pause first. */
  ids(): string[] {
    return [...this.warm];
  }

  /** A sandbox just paused warm (its record says paused); checks the settings in the background. */
  add(id: string): void {
    this.warm.add(id);
    this.watch ??= setInterval(() => void this.relieve(), watchIntervalMs).unref();
    void this.relieve();
  }

  /** Takes a sandbox out of the warm set (a resume thawing it, a kill, a pause starting). */
  forget(id: string): boolean {
    const was = this.warm.delete(id);
    if (this.warm.size === 0 && this.watch) {
      clearInterval(this.watch);
      this.watch = undefined;
    }
    return was;
  }

  /** Evicts the oldest warm sandboxes while more are warm than allowed or the host has less than
   *  `minFreeMB` (at least SANDCASTLE_WARM_PAUSED_MIN_FREE_MB), plus the headroom, available.
   *  Never fails. */
  relieve(minFreeMB = 0): Promise<void> {
    const floor = (Math.max(minFreeMB, this.lc.config.warmPausedMinFreeMB) + headroomMiB) * MiB;
    this.checks = this.checks.then(async () => {
      while (this.warm.size > 0) {
        const overCount = this.warm.size > this.lc.config.warmPausedMax;
        const available = overCount ? 0 : (await this.lc.runtime.hostResources()).memoryAvailableBytes;
        if (!overCount && available >= floor) return;
        const reason = overCount ? `more than ${this.lc.config.warmPausedMax} warm (SANDCASTLE_WARM_PAUSED_MAX)` : `${Math.floor(available / MiB)} MiB of memory available, under ${floor / MiB} MiB`;
        await this.evict(this.ids()[0]!, reason);
      }
    });
    return this.checks;
  }

  /** Evicts every warm sandbox (at shutdown), one after another (each is a dump of its memory),
   *  and stops watching. */
  async close(): Promise<void> {
    await this.checks;
    for (const id of this.ids()) await this.evict(id, 'the server is stopping');
  }

  /** Ends a warm sandbox's frozen processes, in its turn on its queue; it stays paused with its
   *  checkpoint. A failure is logged and the sandbox is no longer counted. */
  private async evict(id: string, reason: string): Promise<void> {
    await this.lc.queue.run(id, async () => {
      if (!this.forget(id)) return;
      const started = performance.now();
      await endFrozen(this.lc, id);
      this.lc.log.info({ sandboxId: id, durationMs: Math.round(performance.now() - started) }, `warm-paused sandbox ${id} evicted (${reason}): it stays paused, a resume restores it from its checkpoint`);
    }).catch((err: unknown) => this.lc.log.error({ sandboxId: id, err }, `evicting warm-paused sandbox ${id} failed`));
  }
}

/**
 * Ends the frozen processes of a warm-paused sandbox, leaving it as a cold pause does (its pause
 * checkpoint saved again by the runtime, so its connections come back at resume). When that fails
 * they are killed all the same, for their memory: the first checkpoint stays, its connections
 * then closed at resume.
 */
export async function endFrozen(lc: Pick<WarmPausesHost, 'runtime' | 'log'>, id: string): Promise<void> {
  try {
    await lc.runtime.endFrozen(id, pauseCheckpoint(id));
  } catch (err) {
    lc.log.error({ sandboxId: id, err }, `saving warm-paused sandbox ${id} again failed; its frozen processes are killed, and connections they had may not come back`);
    await lc.runtime.clearStopped(id);
  }
}
