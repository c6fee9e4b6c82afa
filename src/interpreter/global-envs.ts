// The sandbox-wide environment variables (`Sandbox.create({ envs })` and the default E2B_*/NOVITA_*
// ones). envd writes them, atomically and readable by root only, as a JSON map on every `/init`;
// the interpreter starts before the first /init, so it looks again before each execution. A stat
// is all that costs while the file is unchanged.
import { readFileSync, statSync } from 'node:fs';

export class GlobalEnvs {
  private stamp = '';
  private vars: Readonly<Record<string, string>> = {};

  constructor(private readonly file: string) {}

  /** The variables as the file has them now; an absent or unreadable file means none. */
  current(): Readonly<Record<string, string>> {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      stamp = 'absent';
    }
    if (stamp === this.stamp) return this.vars;
    this.vars = stamp === 'absent' ? {} : this.read();
    this.stamp = stamp;
    return this.vars;
  }

  private read(): Record<string, string> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      console.error(`interpreter: ignoring ${this.file}: ${(err as Error).message}`);
      return {};
    }
    const vars: Record<string, string> = {};
    if (typeof parsed !== 'object' || parsed === null) return vars;
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string' && validEnvName(key)) vars[key] = value;
    }
    return vars;
  }
}

/** A name a process environment can hold (no `=`, no NUL, not empty). */
export function validEnvName(name: string): boolean {
  return name !== '' && !name.includes('=') && !name.includes('\0');
}

/** What to change in an environment that holds `from` so that it holds `to`. */
export function envDiff(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): EnvChange {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [key, value] of Object.entries(to)) if (from[key] !== value) set[key] = value;
  for (const key of Object.keys(from)) if (!(key in to)) unset.push(key);
  return { set, unset };
}

export interface EnvChange {
  set: Record<string, string>;
  unset: string[];
}

export function isEmptyChange(change: EnvChange): boolean {
  return change.unset.length === 0 && Object.keys(change.set).length === 0;
}
