// Parsers for option values shared by the commands, each refusing bad input with what it expected.
import { InvalidArgumentError } from 'commander';

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as the novita CLI takes it ("90", "90s", "5m", "1h", "500ms"; no unit: seconds), in ms. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 90, 90s, 5m or 1h (no unit: seconds), got "${value}"`);
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? 's']!);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number of 0 or more, got "${value}"`);
  return n;
}

/** `a,b` given once or more, collected into one list. */
export function commaList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

/** `KEY=VALUE`, repeatable (and `k1=v1,k2=v2` when `commas`), collected into one record. */
export function keyValues(commas: boolean) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const out = { ...previous };
    for (const pair of commas ? value.split(',') : [value]) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new InvalidArgumentError(`expected KEY=VALUE, got "${pair}"`);
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return out;
  };
}

const sandboxStates = ['running', 'paused'] as const;
export type SandboxStateName = (typeof sandboxStates)[number];

/** `running,paused` (either or both). */
export function parseStates(value: string): SandboxStateName[] {
  const states = value.split(',').map((s) => s.trim().toLowerCase());
  for (const s of states) if (!(sandboxStates as readonly string[]).includes(s)) throw new InvalidArgumentError(`states are ${sandboxStates.join(', ')}, got "${s}"`);
  return states as SandboxStateName[];
}
