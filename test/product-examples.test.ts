// Every JavaScript example of the product pages this server covers, run unmodified (the files in
// product-examples/ are the pages' code as written) with only the connection settings exported.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Sandbox } from 'novita-sandbox';
import { installDir } from '../src/config.js';
import { disposeServer, startServerProcess, useServer, type ServerProcess } from './support/server-process.js';

const run = promisify(execFile);
const examplesDir = path.join(installDir, 'test', 'product-examples');

let server: ServerProcess;

async function runExample(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(examplesDir, file)], {
    cwd: installDir,
    env: { ...process.env },
    timeout: 120_000,
  });
  return stdout;
}

async function runningIds(): Promise<string[]> {
  const items = await Sandbox.list({ query: { state: ['running'] } }).nextItems();
  return items.map((s) => s.sandboxId);
}

before(async () => {
  server = await startServerProcess();
  useServer(server);
});

after(async () => {
  await disposeServer(server);
});

describe('product page "Sandbox Lifecycle" (both versions)', () => {
  for (const file of [
    'sandbox-lifecycle--1-intro.ts',
    'sandbox-lifecycle--2-change-sandbox-timeout-during-runtime.ts',
    'sandbox-lifecycle--4-shutdown-sandbox.ts',
    'v2-sandbox-lifecycle--1-create-a-sandbox-with-a-timeout.ts',
    'v2-sandbox-lifecycle--2-update-the-timeout.ts',
    'v2-sandbox-lifecycle--4-kill-a-sandbox.ts',
  ]) {
    it(`${file} runs and leaves no sandbox`, async () => {
      await runExample(file);
      assert.deepEqual(await runningIds(), []);
    });
  }

  it('sandbox-lifecycle--3: prints the info object', async () => {
    const out = await runExample('sandbox-lifecycle--3-retrieve-sandbox-information.ts');
    assert.match(out, /sandboxId: '[a-z0-9]{20}'/);
    assert.match(out, /templateId: 'code-interpreter-v1'/);
    assert.match(out, /metadata: \{\}/);
    assert.match(out, /startedAt: \d{4}-\d\d-\d\dT/);
    assert.match(out, /endAt: \d{4}-\d\d-\d\dT/);
  });

  it('v2-sandbox-lifecycle--3: prints id, template, state, startedAt and endAt 60 s later', async () => {
    const lines = (await runExample('v2-sandbox-lifecycle--3-get-sandbox-information.ts')).trim().split('\n');
    assert.equal(lines.length, 5, lines.join('\n'));
    assert.match(lines[0]!, /^[a-z0-9]{20}$/);
    assert.equal(lines[1], 'code-interpreter-v1');
    assert.equal(lines[2], 'running');
    const started = new Date(lines[3]!).getTime();
    const ends = new Date(lines[4]!).getTime();
    assert.ok(Math.abs(ends - started - 60_000) < 2000, `${lines[3]} → ${lines[4]}`);
  });
});

describe('product page "Sandbox Metadata"', () => {
  it('prints the metadata of the running sandbox', async () => {
    const out = await runExample('sandbox-metadata--1-intro.ts');
    assert.match(out, /runningSandboxes\[0\]\.metadata:\s+\{ userId: '123' \}/);
  });
});

describe('product page "Environment variables"', () => {
  it('global variables reach commands', async () => {
    const out = await runExample('environment-variables--1-1-global-environment-variables.ts');
    assert.match(out, /exitCode: 0/);
    assert.match(out, /stdout: 'my_value\\n'/);
  });

  it('per-command variables reach the command', async () => {
    const out = await runExample('environment-variables--3-3-setting-environment-variables-when-running-commands.ts');
    assert.match(out, /stdout: '123\\n'/);
  });
});

describe('product page "List sandboxes"', () => {
  it('lists the running sandbox with its metadata, id, start and template', async () => {
    const out = await runExample('list-sandboxes--1-intro.ts');
    assert.match(out, /Running sandbox metadata: \{ name: 'My Sandbox' \}/);
    assert.match(out, /Running sandbox id: [a-z0-9]{20}/);
    assert.match(out, /Running sandbox started at: \d{4}-/);
    assert.match(out, /Running sandbox template id: code-interpreter-v1/);
  });

  it('filters by metadata', async () => {
    for (const file of ['list-sandboxes--2-filtering-sandboxes.ts']) {
      const out = await runExample(file);
      assert.match(out, /list running sandbox \([a-z0-9]{20}\) metadata: \{ env: 'dev', app: 'my-app', userId: '123' \}/);
    }
  });

  for (const file of [
    'list-sandboxes--3-listing-sandboxes.ts',
    'list-sandboxes--4-filtering-sandboxes.ts',
    'list-sandboxes--5-filtering-sandboxes.ts',
  ]) {
    it(`${file} runs`, async () => {
      await runExample(file);
      assert.deepEqual(await runningIds(), []);
    });
  }

  it('advanced pagination prints hasNext and nextToken', async () => {
    const out = await runExample('list-sandboxes--6-advanced-pagination.ts');
    assert.match(out, /paginator\.hasNext:\s+false/);
    assert.match(out, /paginator\.nextToken:\s+undefined/);
  });

  it('fetching all pages lists the sandbox', async () => {
    const out = await runExample('list-sandboxes--7-advanced-pagination.ts');
    assert.match(out, /list sandbox \([a-z0-9]{20}\)/);
  });
});

describe('product page "Connect to running sandbox"', () => {
  it('finds a running sandbox and connects to it', async () => {
    const sbx = await Sandbox.create();
    try {
      const first = await runExample('connect-to-running-sandbox--1-1-get-the-sandbox-id.ts');
      assert.equal(first, `got a running sandbox: ${sbx.sandboxId}\n`);
      const second = await runExample('connect-to-running-sandbox--2-2-connect-to-the-sandbox.ts');
      assert.equal(second, `connected to sandbox:  ${sbx.sandboxId}\n`);
    } finally {
      await sbx.kill();
    }
  });
});
