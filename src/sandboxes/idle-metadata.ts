// Lifecycle settings that the hosted product reads from metadata keys.
import { errors } from '../errors.js';

/** `auto_resume: "true"` in metadata turns auto-resume on, as `autoResume.enabled` does. */
export function autoResumeFromMetadata(metadata: Record<string, string>): boolean {
  return metadata.auto_resume?.toLowerCase() === 'true';
}

/** `idle_timeout` in metadata, in seconds; undefined when absent. */
export function idleTimeoutFromMetadata(metadata: Record<string, string>, minimum: number): number | undefined {
  const raw = metadata.idle_timeout;
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < minimum) {
    throw errors.badRequest(`metadata idle_timeout must be a whole number of seconds, at least ${minimum}; got '${raw}'`);
  }
  return seconds;
}
