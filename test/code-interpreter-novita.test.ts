// novita-sandbox/code-interpreter, unmodified: it ignores NOVITA_SANDBOX_URL and reaches the
// interpreter at https://49999-<id>.<domain>, so it needs the server's HTTPS host routing (with
// the local CA trusted through NODE_EXTRA_CA_CERTS, as the README tells users).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { installDir } from '../src/config.js';
import { runWithPublicUrlSettings, useTestServer } from './support/server-process.js';

const domain = 'sandcastle.localhost';
const server = useTestServer({ env: { SANDCASTLE_HTTPS_PORT: '443', SANDCASTLE_HTTP_PORT: '80' } }).current;

const runAsUser = (file: string) => runWithPublicUrlSettings(server(), file, domain);

describe('novita-sandbox/code-interpreter over HTTPS host routing', () => {
  it('runs code with state, contexts, envs, errors, plots and other languages', async () => {
    const seen = JSON.parse(await runAsUser(path.join(installDir, 'test', 'support', 'novita-code-interpreter.ts'))) as Record<string, unknown>;
    assert.deepEqual(seen, { value: '42', state: '6', cwd: '/tmp', listed: true, env: 'yes', error: 'ZeroDivisionError', png: true, javascript: '3' });
  });

  it('product page "Environment variables": the runCode example prints the per-run variable', async () => {
    const out = await runAsUser(path.join(installDir, 'test', 'product-examples', 'environment-variables--2-2-setting-environment-variables-when-running-code.ts'));
    assert.match(out, /stdout: \[ 'my_value\\n' \]/);
    assert.match(out, /stderr: \[\]/);
  });
});
