// What a build is asked to do (the body of `POST /v2/templates/{id}/builds/{buildID}`, as the
// SDKs' Template builder and the CLIs send it), checked, and the cache key of each step.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const stepSchema = z.object({
  type: z.enum(['RUN', 'COPY', 'ENV', 'WORKDIR', 'USER']),
  args: z.array(z.string()).default([]),
  filesHash: z.string().nullish(),
  force: z.boolean().nullish(),
});
export type BuildStep = z.infer<typeof stepSchema>;

export const registryAuthSchema = z.object({
  type: z.string().default('registry'),
  username: z.string().optional(),
  password: z.string().optional(),
}).passthrough();

export const buildBodySchema = z.object({
  fromImage: z.string().min(1).nullish(),
  fromTemplate: z.string().min(1).nullish(),
  fromImageRegistry: registryAuthSchema.nullish(),
  force: z.boolean().nullish(),
  steps: z.array(stepSchema).default([]),
  startCmd: z.string().nullish(),
  readyCmd: z.string().nullish(),
  // Novita's builder: a script run as root before the sandbox boots; run as a first step here.
  preBootScript: z.string().nullish(),
});
export type BuildBody = z.infer<typeof buildBodySchema>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a step cannot be built as sent, or undefined; `index` counts from 1 as the SDK does. */
export function stepProblem(step: BuildStep, index: number): string | undefined {
  const n = step.args.length;
  switch (step.type) {
    case 'RUN':
      return n >= 1 && step.args[0]!.trim() ? undefined : `step ${index} (RUN) has no command`;
    case 'COPY':
      if (n < 2) return `step ${index} (COPY) needs a source and a destination`;
      if (!step.filesHash) return `step ${index} (COPY) has no filesHash`;
      if (step.args[3] && !/^[0-7]{3,4}$/.test(step.args[3])) return `step ${index} (COPY) mode "${step.args[3]}" is not octal`;
      return undefined;
    case 'ENV': {
      if (n % 2 !== 0) return `step ${index} (ENV) needs name/value pairs, got ${n} arguments`;
      const bad = step.args.find((a, i) => i % 2 === 0 && !ENV_NAME.test(a));
      // The SDKs' Dockerfile parser splits `ENV A="x y"` inside the quotes.
      return bad === undefined ? undefined : `step ${index} (ENV): "${bad}" is not a variable name; in a Dockerfile write ENV values without quotes or spaces (ENV A=x)`;
    }
    case 'WORKDIR':
      return n === 1 && step.args[0]!.trim() ? undefined : `step ${index} (WORKDIR) needs one folder`;
    case 'USER':
      return n === 1 && step.args[0]!.trim() ? undefined : `step ${index} (USER) needs one user`;
  }
}

/** Bump when a step's result changes for the same inputs (how layers are made). */
const STEP_KEY_VERSION = 'sandcastle-step/1';

/** A step's cache key: its parent's key, what it does and the files it brings. */
export function stepKey(parentKey: string, step: BuildStep): string {
  return createHash('sha256')
    .update([STEP_KEY_VERSION, parentKey, step.type, step.args.join(' '), step.filesHash ?? ''].join(';'))
    .digest('hex');
}

export function baseKey(what: string): string {
  return createHash('sha256').update(`${STEP_KEY_VERSION};base;${what}`).digest('hex');
}
