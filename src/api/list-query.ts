// Decoding of the list endpoint's query (protocol §3.5).
import { errors } from '../errors.js';
import type { SandboxState } from '../store/sandbox-store.js';

const listableStates: SandboxState[] = ['running', 'paused'];
export const maxListLimit = 1000;

/**
 * The SDK percent-encodes each metadata key and value, form-encodes the pairs, and the query
 * string encodes the result once more. The router has undone the last step; undo the other two.
 */
export function decodeMetadataFilter(value: string | undefined): Record<string, string> {
  if (!value) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(value)) {
    try {
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    } catch {
      throw errors.badRequest(`metadata filter pair '${k}=${v}' is not valid percent-encoding`);
    }
  }
  return out;
}

/** `state=running,paused` (or repeated `state=`); none means running and paused. */
export function decodeStateFilter(values: string[]): SandboxState[] {
  const states = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of states) {
    if (!listableStates.includes(s as SandboxState)) {
      throw errors.badRequest(`state '${s}' is not one of: ${listableStates.join(', ')}`);
    }
  }
  return states.length ? [...new Set(states as SandboxState[])] : listableStates;
}

export function decodeLimit(value: string | undefined): number {
  if (value === undefined || value === '') return maxListLimit;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > maxListLimit) {
    throw errors.badRequest(`limit must be an integer between 1 and ${maxListLimit}, got '${value}'`);
  }
  return n;
}

/** `order=asc|desc` (by start time); none is newest first. */
export function decodeOrder(value: string | undefined): 'asc' | 'desc' | undefined {
  if (value === undefined || value === '') return undefined;
  if (value !== 'asc' && value !== 'desc') throw errors.badRequest(`order must be 'asc' or 'desc', got '${value}'`);
  return value;
}

/** `startedAfter`, an RFC 3339 time, as unix ms. */
export function decodeStartedAfter(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw errors.badRequest(`startedAfter must be an RFC 3339 time such as 2025-01-31T12:00:00Z, got '${value}'`);
  return ms;
}
