// Sandboxes a template build runs its steps in: started from the layers built so far, never
// handed to a client nor listed, each step's changes kept as a new layer by `commit`. They are
// real sandboxes (runc, their own network namespace, egress as any sandbox's): a step is
// untrusted code. A server that dies mid-step leaves a `starting` record, which recovery removes.
import { envdPort } from '../protocol.js';
import { type CommandEnd, type CommandOptions, runInSandbox } from './envd-commands.js';
import { waitForHealth } from './envd-client.js';
import type { Lifecycle } from './lifecycle.js';
import type { Origin } from './sandbox-records.js';

const envdStartTimeoutMs = 15_000;

export interface StepSandbox {
  run(command: string, opts: CommandOptions): Promise<CommandEnd>;
  /** Ends the sandbox, keeping what it changed as the layer folder `to`. */
  commit(to: string): Promise<void>;
  /** Ends the sandbox and drops its changes; a second call (or one after commit) does nothing. */
  close(): Promise<void>;
}

export class BuildSandboxes {
  constructor(private readonly lc: Lifecycle) {}

  /** A sandbox on `layers` (top first) with the given size, envd answering. */
  async open(layers: string[], size: Pick<Origin, 'cpuCount' | 'memoryMB' | 'diskSizeMB'>): Promise<StepSandbox> {
    const { records, runtime, store } = this.lc;
    const origin: Origin = { id: 'template-build', alias: null, layers, startCmd: null, ...size };
    const rec = records.reserve(records.unownedFields(origin));
    const address = records.addressOf(rec);
    let open = true;
    const end = async (work: () => Promise<void>) => {
      if (!open) return;
      open = false;
      try {
        await work();
      } finally {
        store.delete(rec.id);
      }
    };
    try {
      await this.lc.admission.run(async () => {
        await runtime.create(records.spec(rec));
        await waitForHealth(address, envdPort, envdStartTimeoutMs);
      });
    } catch (err) {
      await end(() => runtime.destroy(rec.id)).catch((e) => this.lc.log.error({ sandboxId: rec.id, err: e }, 'removing a build sandbox that did not start failed'));
      throw new Error(`the build sandbox did not start: ${(err as Error).message}`, { cause: err });
    }
    this.lc.log.info({ sandboxId: rec.id }, 'build sandbox started');
    return {
      run: (command, opts) => runInSandbox(address, command, opts),
      commit: (to) => end(() => runtime.commit(rec.id, to)),
      close: () => end(() => runtime.destroy(rec.id)),
    } satisfies StepSandbox;
  }
}

