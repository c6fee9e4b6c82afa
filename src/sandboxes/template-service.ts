// A template's own service, brought up when one of its sandboxes boots: a built-in one started by
// the container's init and answering `/health` on a port, or a user template's start command run
// through envd and polled with its ready command.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TemplateRecord } from '../store/template-store.js';
import { runInSandbox, startInSandbox } from './envd-commands.js';
import { waitForHealth } from './envd-client.js';

export type TemplateService = Pick<TemplateRecord, 'readyPort' | 'serviceCmd' | 'readyCmd' | 'defaultUser' | 'defaultWorkdir' | 'envVars'>;

/** How often a ready command is run while it fails. */
const readyPollMs = 200;
/** Output of the start and ready commands kept for the error of a service that never got ready. */
const keptOutputChars = 4000;

export function hasService(t: TemplateService): boolean {
  return t.readyPort !== null || t.serviceCmd !== null || t.readyCmd !== null;
}

/**
 * Starts the template's service in the sandbox at `address` (envd answers already) and resolves
 * once it is ready; throws after `timeoutMs` with what the commands printed. `accessToken` is
 * envd's once it has been initialised.
 */
export async function bringUpService(address: string, t: TemplateService, timeoutMs: number, accessToken?: string): Promise<void> {
  if (t.readyPort !== null) await waitForHealth(address, t.readyPort, timeoutMs);
  if (t.serviceCmd === null && t.readyCmd === null) return;
  let output = '';
  const keep = (text: string) => {
    output = (output + text).slice(-keptOutputChars);
  };
  const options = { user: t.defaultUser ?? undefined, cwd: t.defaultWorkdir ?? undefined, envs: t.envVars, accessToken };
  const watch = new AbortController();
  let ended: string | undefined;
  try {
    if (t.serviceCmd !== null) {
      const started = await startInSandbox(address, t.serviceCmd, { ...options, onOutput: keep, signal: watch.signal });
      started.ended.then(
        (end) => (ended = `the start command exited with code ${end.exitCode}${end.error ? ` (${end.error})` : ''}`),
        () => undefined,
      );
    }
    if (t.readyCmd === null) return;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      let readyOut = '';
      const end = await runInSandbox(address, t.readyCmd, { ...options, onOutput: (text) => (readyOut += text) });
      if (end.exitCode === 0) return;
      last = `exit code ${end.exitCode}${readyOut.trim() ? `, output: ${readyOut.trim().slice(-500)}` : ''}`;
      await sleep(readyPollMs);
    }
    const what = t.serviceCmd === null ? '' : ` after start command "${t.serviceCmd}"`;
    throw new Error(
      `ready command "${t.readyCmd}" did not succeed within ${Math.round(timeoutMs / 1000)} s${what} (last: ${last}` +
        `${ended ? `; ${ended}` : ''}); start command output:\n${output.trim() || '(none)'}`,
    );
  } finally {
    watch.abort();
  }
}
