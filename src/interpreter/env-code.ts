// A change of the sandbox-wide or per-execution variables, as code that a Jupyter kernel runs
// (silently) in its own process, so that the cell's code and its child processes both see it.
import type { EnvChange } from './global-envs.js';

export function pythonEnvCode(change: EnvChange): string {
  return (
    '(lambda e: (e.update(' + JSON.stringify(change.set) + '), [e.pop(k, None) for k in ' + JSON.stringify(change.unset) + ']))' +
    "(__import__('os').environ)"
  );
}

/** R reads JSON's string escapes as its own (names are valid variable names, values have no NUL). */
export function rEnvCode(change: EnvChange): string {
  const statements: string[] = [];
  const set = Object.entries(change.set);
  if (set.length) statements.push(`Sys.setenv(${set.map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`).join(', ')})`);
  if (change.unset.length) statements.push(`Sys.unsetenv(c(${change.unset.map((k) => JSON.stringify(k)).join(', ')}))`);
  return `invisible({${statements.join('; ')}})`;
}
