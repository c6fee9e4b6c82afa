// Request bodies of the control plane, as the SDKs send them (protocol §3.3). Unknown fields are
// accepted and ignored: newer SDKs add fields before the server knows them.
import { z } from 'zod';
import { errors } from '../errors.js';

const stringMap = z.record(z.string(), z.string());

export const createSandboxBody = z.looseObject({
  templateID: z.string().min(1).default('base'),
  timeout: z.number().optional(),
  metadata: stringMap.nullish(),
  envVars: stringMap.nullish(),
  secure: z.boolean().optional(),
  allow_internet_access: z.boolean().optional(),
  autoPause: z.boolean().optional(),
  autoResume: z.looseObject({ enabled: z.boolean().optional() }).nullish(),
});

export const timeoutBody = z.looseObject({ timeout: z.number() });

export const connectBody = z.looseObject({ timeout: z.number().optional() });

/** Parses `body` with `schema`, turning a mismatch into a 400 that names each wrong field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw errors.badRequest(`invalid request body: ${problems.join('; ')}`);
}
