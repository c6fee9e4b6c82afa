// Templates' boot states: a sandbox of the template booted (its service ready, envd warmed up)
// and saved, which creates and the warm pool restore instead of booting. Saved at the server's
// start and after a build, in the background; one template's saves run one at a time.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationQueue } from '../operation-queue.js';
import { envdPort } from '../protocol.js';
import type { BootState } from '../store/boot-state-store.js';
import type { TemplateRecord } from '../store/template-store.js';
import { waitForHealth } from './envd-client.js';
import { warmUpEnvd } from './envd-warm-up.js';
import { type Lifecycle, type SavedStart, serviceReadyTimeoutMs } from './lifecycle.js';
import { bootCheckpoint, savedSource } from './saved-states.js';
import { bringUpService } from './template-service.js';

/**
 * How long a sandbox saved as a boot state at the server's start runs first. V8 collects a quiet
 * Node process's garbage about 8 s after it starts (its memory reducer: two full collections half
 * a second apart, the heap shrinking by a quarter). Saved before that, every sandbox restored from
 * the state found the collection due and paid it, 30–40 ms of CPU a create here, and restored the
 * larger heap (a 13.6 instead of a 10.9 MB image for envd). The wait is paid when a state is saved
 * anew (first start, upgrade, changed template); creates meanwhile boot. A template build's state
 * is saved at once (the build's answer waits for it) and again, settled, in the background.
 */
const bootStateSettleMs = 10_000;

/** A template's start command that did not get ready: the template cannot be used. */
export class ServiceNotReady extends Error {}

/** What of a template its boot state holds (with its layers' contents, in the state's key): a
 *  user template's service, started through envd, and the root file system. */
export function stateInputs(t: TemplateRecord): string {
  return JSON.stringify([t.serviceCmd, t.readyCmd, t.defaultUser, t.defaultWorkdir, t.envVars, t.layers, t.startCmd]);
}

export class BootStates {
  /** Saves, one at a time per template. */
  private readonly saves = new OperationQueue();
  /** Settled saves under way, by template, with what they save (stateInputs): a build that
   *  changes that aborts it. */
  private readonly settling = new Map<string, { inputs: string; abort: AbortController; done: Promise<void> }>();
  /** Work in the background; stop() aborts and awaits it. */
  private readonly background = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  /** Templates whose boot state a restore failed from, waiting to be saved anew. */
  private readonly resaving = new Set<string>();

  constructor(private readonly lc: Lifecycle) {}

  /** Aborted once the server stops. */
  get stopped(): AbortSignal {
    return this.stopping.signal;
  }

  /** The template's boot state and what a create restores from it; none when it has none. */
  savedStart(templateId: string): { state: BootState; saved: SavedStart } | undefined {
    const state = this.lc.bootStates.get(templateId);
    return state && { state, saved: { source: savedSource(bootCheckpoint(state), state.address), token: null } };
  }

  /** The name of the template's boot state's checkpoint; null when it has none. */
  checkpointName(templateId: string): string | null {
    const state = this.lc.bootStates.get(templateId);
    return state ? bootCheckpoint(state).name : null;
  }

  /** Whether the template's boot state is a build's, not yet saved again settled. */
  unsettled(templateId: string): boolean {
    return this.lc.bootStates.get(templateId)?.settled === false;
  }

  /** Ends the work in the background (a sandbox left to settle is removed and nothing saved);
   *  resolves once it has stopped. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.background);
  }

  /** Runs `work` unless the server is stopping, tracked for stop(); never rejects. */
  inBackground(work: () => Promise<void>): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    const running = work()
      .catch((err: unknown) => this.lc.log.error({ err }, 'preparing fast creates failed'))
      .finally(() => this.background.delete(running));
    this.background.add(running);
    return running;
  }

  /**
   * Brings a newly built template's service (if any) up in a sandbox and saves that as its boot
   * state at once, unsettled: the build's answer waits on it (saveSettled saves it again).
   * Throws ServiceNotReady when the service never got ready; any other failure only costs speed
   * (its sandboxes boot instead) and is logged.
   */
  async saveForBuild(template: TemplateRecord, readyTimeoutMs: number): Promise<void> {
    // A rebuild that changed nothing the state holds keeps it, settled or being settled.
    const settling = this.settling.get(template.id);
    if (settling?.inputs === stateInputs(template)) return;
    settling?.abort.abort();
    try {
      await this.save(template, { readyTimeoutMs, settled: false });
    } catch (err) {
      if (err instanceof ServiceNotReady) throw err;
      this.lc.log.error({ templateId: template.id, err }, `template ${template.id}: cannot save its boot state, sandboxes boot instead`);
    }
  }

  /** The boot state of a template as the server's start or a finished build left it, saved
   *  settled (bootStateSettleMs); a second call for the same inputs shares the save under way.
   *  A build that changes what the state holds ends it at once (saveForBuild): that build's
   *  answer must not wait for the settle. */
  saveSettled(template: TemplateRecord): Promise<void> {
    const inputs = stateInputs(template);
    const running = this.settling.get(template.id);
    if (running?.inputs === inputs) return running.done;
    running?.abort.abort();
    const abort = new AbortController();
    const stillWanted = () => {
      const now = this.lc.templates.find(template.id);
      return now !== undefined && stateInputs(now) === inputs;
    };
    const done = this.save(template, { settled: true, stop: AbortSignal.any([this.stopping.signal, abort.signal]), stillWanted })
      .catch((err: unknown) => {
        // A build that changed the template took over; its state is saved settled after it.
        if (abort.signal.aborted && !this.stopping.signal.aborted) return;
        throw err;
      })
      .finally(() => {
        if (this.settling.get(template.id)?.abort === abort) this.settling.delete(template.id);
      });
    this.settling.set(template.id, { inputs, abort, done });
    return done;
  }

  /** Removes the template's boot state and its checkpoint. */
  async forget(templateId: string): Promise<void> {
    const state = this.lc.bootStates.get(templateId);
    if (!state) return;
    this.lc.bootStates.delete(templateId);
    await this.lc.runtime.deleteCheckpoint(bootCheckpoint(state));
  }

  /** Removes a boot state a restore failed from (unless one saved since replaced it) and saves
   *  the template's anew after SANDCASTLE_BOOT_STATE_RETRY seconds: the failure may have been the
   *  host's (memory, a kernel limit), and creates would otherwise boot until the server's next
   *  start. */
  dropFailed(failed: BootState): void {
    const { templateId } = failed;
    const now = this.lc.bootStates.get(templateId);
    // The state is forgotten at once; its folder goes in the background (its removal waits for
    // restores still reading it), not on the clock of the create that falls back to a boot.
    const removal = now && bootCheckpoint(now).name === bootCheckpoint(failed).name
      ? this.forget(templateId).catch((err: unknown) => this.lc.log.error({ templateId, err }, `template ${templateId}: the folder of the boot state a restore failed from could not be removed`))
      : Promise.resolve();
    void this.inBackground(() => removal);
    if (this.resaving.has(templateId)) return;
    this.resaving.add(templateId);
    void this.inBackground(async () => {
      try {
        await removal;
        await sleep(this.lc.config.bootStateRetrySeconds * 1000, undefined, { signal: this.stopping.signal });
        const current = this.lc.templates.find(templateId);
        if (!current || this.lc.bootStates.get(templateId)) return;
        await this.saveSettled(current);
        this.lc.log.info({ templateId }, `template ${templateId}: boot state saved anew; creates restore it again`);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        this.lc.log.error({ templateId, err }, `template ${templateId}: saving its boot state anew failed; its sandboxes boot instead`);
      } finally {
        this.resaving.delete(templateId);
      }
    });
  }

  /**
   * Saves the template's boot state unless it has one taken with the same inputs (and settled,
   * when `settled` asks for that). One template's saves run one at a time. `settled`: saved only
   * once the sandbox has run bootStateSettleMs; `stop` cuts that short and saves nothing;
   * `stillWanted`, asked once the state is taken, may drop it.
   */
  private save(template: TemplateRecord, opts: { readyTimeoutMs?: number; settled: boolean; stop?: AbortSignal; stillWanted?: () => boolean }): Promise<void> {
    return this.saves.run(template.id, async () => {
      const { runtime, records } = this.lc;
      const key = createHash('sha256')
        .update(await runtime.savedStateKey({ layers: template.layers, startCommand: template.startCmd ?? undefined }))
        .update(stateInputs(template))
        .digest('hex');
      const old = this.lc.bootStates.get(template.id);
      if (old?.key === key && (old.settled || !opts.settled) && runtime.checkpointIsWhole(bootCheckpoint(old))) return;
      opts.stop?.throwIfAborted();
      const rec = records.reserve(records.unownedFields(template));
      const state: BootState = { templateId: template.id, address: records.addressOf(rec), key, settled: opts.settled };
      const ref = bootCheckpoint(state);
      try {
        const started = Date.now();
        await runtime.create(records.spec(rec));
        await waitForHealth(state.address, envdPort, 15_000);
        try {
          await bringUpService(state.address, template, opts.readyTimeoutMs ?? serviceReadyTimeoutMs);
        } catch (err) {
          throw new ServiceNotReady((err as Error).message, { cause: err });
        }
        // Only speed depends on it (an image without a shell cannot run it).
        await warmUpEnvd(state.address, template.defaultUser ?? undefined).catch((err: unknown) => {
          this.lc.log.warn({ templateId: template.id, err }, `template ${template.id}: warming up envd for its boot state failed; its sandboxes' first command will be slower`);
        });
        if (opts.settled) await sleep(Math.max(0, started + bootStateSettleMs - Date.now()), undefined, { signal: opts.stop });
        await runtime.checkpoint(rec.id, ref, 'snapshot');
      } finally {
        await runtime.destroy(rec.id).catch((err) => this.lc.log.error({ sandboxId: rec.id, err }, 'removing the boot-state sandbox failed'));
        this.lc.store.delete(rec.id);
      }
      if (opts.stillWanted && !opts.stillWanted()) {
        await runtime.deleteCheckpoint(ref);
        return;
      }
      this.lc.bootStates.set(state);
      if (old && bootCheckpoint(old).name !== ref.name) await runtime.deleteCheckpoint(bootCheckpoint(old));
      this.lc.log.info({ templateId: template.id, settled: state.settled }, `template ${template.id}: boot state saved${state.settled ? '' : ' (unsettled)'}`);
    });
  }
}
