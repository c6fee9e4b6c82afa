import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';
import { pythonEnvCode, rEnvCode } from './env-code.js';

const change = { set: { A: 'one "quoted"\nline', B: 'x\\y' }, unset: ['GONE'] };

it('Python code that applies an environment change', () => {
  const code = `${pythonEnvCode(change)}\nimport os, json\nprint(json.dumps([os.environ.get("A"), os.environ.get("B"), "GONE" in os.environ]))`;
  const out = execFileSync('python3', ['-c', code], { env: { ...process.env, GONE: 'here' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [change.set.A, change.set.B, false]);
});

it('R code that applies an environment change', () => {
  assert.equal(rEnvCode(change), 'invisible({Sys.setenv("A" = "one \\"quoted\\"\\nline", "B" = "x\\\\y"); Sys.unsetenv(c("GONE"))})');
  assert.equal(rEnvCode({ set: {}, unset: ['X'] }), 'invisible({Sys.unsetenv(c("X"))})');
});
