// Request bodies of the control plane, as the SDKs send them (protocol §3.3). Unknown fields are
// accepted and ignored: newer SDKs add fields before the server knows them.
import type { Context } from 'hono';
import { z } from 'zod';
import { describe, errors, type SandcastleError } from '../errors.js';
import { parseDenyEntry, parseRuleEntry } from '../runtime/network/egress-rules.js';

const stringMap = z.record(z.string(), z.string());

/** Outbound rules (create's `network` field, PUT /sandboxes/{id}/network); each entry is
 *  checked here so a bad one is a 400 naming it. */
export const networkRulesBody = z
  .looseObject({
    allowOut: z.array(z.string()).nullish(),
    denyOut: z.array(z.string()).nullish(),
    allowPublicTraffic: z.boolean().nullish(),
    maskRequestHost: z.string().max(253).nullish(),
  })
  .superRefine((rules, ctx) => {
    try {
      for (const entry of rules.allowOut ?? []) parseRuleEntry('allowOut', entry);
      for (const entry of rules.denyOut ?? []) parseDenyEntry(entry);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const createSandboxBody = z.looseObject({
  templateID: z.string().min(1).default('base'),
  timeout: z.number().optional(),
  metadata: stringMap.nullish(),
  envVars: stringMap.nullish(),
  secure: z.boolean().optional(),
  allow_internet_access: z.boolean().optional(),
  network: networkRulesBody.nullish(),
  autoPause: z.boolean().optional(),
  /** False: the pause at the timeout keeps the files only (e2b's onTimeout.keepMemory). */
  autoPauseMemory: z.boolean().nullish(),
  autoResume: z.looseObject({ enabled: z.boolean().optional() }).nullish(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), path: z.string() })).nullish(),
});

export const timeoutBody = z.looseObject({ timeout: z.number() });

/** `memory: false` is e2b's onResume 'reboot': a paused sandbox boots instead of being restored. */
export const connectBody = z.looseObject({ timeout: z.number().optional(), memory: z.boolean().nullish() });

export const cloneBody = z.looseObject({
  count: z.number().default(1),
  strict: z.boolean().default(false),
  timeout: z.number().optional(),
});

/** e2b's pause: `memory: false` keeps the files only. */
export const pauseBody = z.looseObject({ memory: z.boolean().nullish() });

export const snapshotBody = z.looseObject({ name: z.string().nullish() });

export const forkBody = z.looseObject({
  count: z.number().default(1),
  timeout: z.number().optional(),
});

/** Parses `body` with `schema`, turning a mismatch into a 400 that names each wrong field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw errors.badRequest(`invalid request body: ${problems.join('; ')}`);
}

/** Longest request body the control plane reads: its bodies are small JSON, and each is read
 *  whole into memory. */
export const maxBodyBytes = 8 * 1024 * 1024;

/** A body that could not be read: the client went away (or broke its framing) mid-body. */
export function bodyCutShort(err: unknown): SandcastleError {
  return errors.badRequest(`the request body was cut short: ${describe(err)}`);
}

/** The JSON body of a request; an empty body is `{}` (novita's pause sends none). */
export async function readJson(c: Context): Promise<unknown> {
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    throw bodyCutShort(err);
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
}
