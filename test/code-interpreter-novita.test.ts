// novita-sandbox/code-interpreter, unmodified: it ignores NOVITA_SANDBOX_URL and reaches the
// interpreter at https://49999-<id>.<domain>, so it needs the server's HTTPS host routing (with
// the local CA trusted through NODE_EXTRA_CA_CERTS, as the README tells users).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { installDir } from '../src/config.js';
import { disposeServer, startServerProcess, useServer, type ServerProcess } from './support/server-process.js';

const run = promisify(execFile);
const domain = 'sandcastle.localhost';
let server: ServerProcess;
let caFile: string;

/** Runs a script in a child process with only the settings the README gives users. */
async function runAsUser(file: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, NOVITA_API_URL: server.url, NOVITA_DOMAIN: domain, NODE_EXTRA_CA_CERTS: caFile };
  delete env.NOVITA_SANDBOX_URL;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: installDir, env, timeout: 120_000 });
  return stdout;
}

before(async () => {
  server = await startServerProcess({ env: { SANDCASTLE_HTTPS_PORT: '443', SANDCASTLE_HTTP_PORT: '80' } });
  useServer(server);
  caFile = path.join(server.dataDir, 'tls', 'ca.pem');
});

after(async () => {
  await disposeServer(server);
});

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
