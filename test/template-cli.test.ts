// Templates from the command line: `sandcastle template create|list|delete`, and the unmodified
// e2b CLI (`e2b template create|list|delete`) against the same server. Both read the Dockerfile
// with the SDK's parser; a sandbox of the result has the files, variables and service.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Sandbox, Template } from 'e2b';
import { runInNewSandbox } from './support/template-sandbox.js';
import { installDir } from '../src/config.js';
import { useTestServer } from './support/server-process.js';

const server = useTestServer({ env: { SANDCASTLE_TEMPLATE_READY_TIMEOUT: '15' } });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { ...opts, timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

const show = (r: Run) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** The environment without any of the variables the CLIs read, then `extra`. */
function envWith(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(NOVITA|E2B)_/.test(k) || k === 'SANDCASTLE_DATA_DIR') delete env[k];
  return { ...env, ...extra };
}

/** `sandcastle …` as users run it (through tsx from the checkout, as the other tests start it). */
function sandcastle(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', path.join(installDir, 'src/cli/main.ts'), ...args], { cwd: installDir, env });
}

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-template-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('sandcastle template', () => {
  it('create builds novita.Dockerfile (before Dockerfile) with its CMD; a sandbox starts with the service up', async () => {
    const context = await mkdtemp(path.join(scratch, 'ctx-'));
    await writeFile(path.join(context, 'file.txt'), 'copied by the sandcastle cli\n');
    await writeFile(path.join(context, 'Dockerfile'), 'FROM e2bdev/base\nRUN echo "the wrong Dockerfile" && exit 7\n');
    await writeFile(
      path.join(context, 'novita.Dockerfile'),
      [
        'FROM e2bdev/base',
        `RUN mkdir -p /srv/site && echo '<h1>served from the template</h1>' > /srv/site/index.html`,
        'COPY file.txt /home/user/file.txt',
        // Unquoted: the SDKs' parser keeps the quotes of `ENV K="a b"` in the name and value.
        'ENV GREETING=hello WHO=there',
        'WORKDIR /srv/site',
        'CMD ["python3", "-m", "http.server", "8000"]',
        '',
      ].join('\n'),
    );
    const env = envWith({ NOVITA_API_URL: server.current().url, NOVITA_API_KEY: server.current().apiKey });
    const args = ['template', 'create', 'cli-web', '-p', context, '--ready-cmd', 'curl -sf localhost:8000 >/dev/null', '--cpu-count', '1', '--memory-mb', '512', '--tag', 'v1'];
    const created = await sandcastle(args, env);
    assert.equal(created.code, 0, show(created));
    assert.match(created.stdout, /from novita\.Dockerfile in /, show(created));
    assert.match(created.stdout, /RUN mkdir -p \/srv\/site/, show(created));
    assert.match(created.stdout, /Uploaded 'file\.txt'/, show(created));
    assert.match(created.stdout, /Template cli-web is ready: id \w+, build [\w-]+ \(tags: default, v1\)/, show(created));

    const sbx = await Sandbox.create('cli-web:v1');
    try {
      // No waiting: the service came up during the build and the sandbox starts from that state.
      const r = await sbx.commands.run('curl -s localhost:8000/index.html; cat /home/user/file.txt; echo "$GREETING $WHO from $(pwd) as $(whoami)"');
      assert.match(r.stdout, /<h1>served from the template<\/h1>/);
      assert.match(r.stdout, /copied by the sandcastle cli/);
      assert.match(r.stdout, /hello there from \/srv\/site as user/);
    } finally {
      await sbx.kill();
    }
  });

  it('list shows the templates as a table, reaching the server through E2B_* or the data folder', async () => {
    const viaE2b = await sandcastle(['template', 'list'], envWith({ E2B_API_URL: server.current().url, E2B_API_KEY: server.current().apiKey }));
    assert.equal(viaE2b.code, 0, show(viaE2b));
    const lines = viaE2b.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+ID\s+CPU\s+MEMORY MB\s+STATUS\s+CREATED$/);
    assert.ok(lines.some((l) => /^base\s+base\s+\d+\s+\d+\s+ready\s+\d{4}-/.test(l)), viaE2b.stdout);
    assert.ok(lines.some((l) => /^cli-web\s+\w+\s+1\s+512\s+ready\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/.test(l)), viaE2b.stdout);

    // No key in the environment: the one the server wrote in its data folder.
    const viaDataDir = await sandcastle(['template', 'list'], envWith({ NOVITA_API_URL: server.current().url, SANDCASTLE_DATA_DIR: server.current().dataDir }));
    assert.equal(viaDataDir.code, 0, show(viaDataDir));
    assert.match(viaDataDir.stdout, /^cli-web\s/m);
  });

  it('delete removes a template by name; unknown names, built-in templates, missing Dockerfiles and failed steps are clear errors', async () => {
    const env = envWith({ NOVITA_API_URL: server.current().url, NOVITA_API_KEY: server.current().apiKey });
    const deleted = await sandcastle(['template', 'delete', 'cli-web'], env);
    assert.equal(deleted.code, 0, show(deleted));
    assert.match(deleted.stdout, /deleted template cli-web \(\w+\)/);
    assert.equal(await Template.exists('cli-web'), false);

    const again = await sandcastle(['template', 'delete', 'cli-web'], env);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stderr, /no template named or with id 'cli-web' on http:\/\/.* \(see `sandcastle template list`\)/);

    const builtin = await sandcastle(['template', 'delete', 'base'], env);
    assert.equal(builtin.code, 1, show(builtin));
    assert.match(builtin.stderr, /409 template 'base' is built in and cannot be deleted/);

    const empty = await mkdtemp(path.join(scratch, 'empty-'));
    const noFile = await sandcastle(['template', 'create', 'nothing', '-p', empty], env);
    assert.equal(noFile.code, 1, show(noFile));
    assert.match(noFile.stderr, /no novita\.Dockerfile, e2b\.Dockerfile, Dockerfile in .*: give one with -d <file>/);

    await writeFile(path.join(empty, 'e2b.Dockerfile'), 'FROM e2bdev/base\nRUN echo about to fail && exit 3\n');
    const failing = await sandcastle(['template', 'create', 'cli-fails', '-p', empty], env);
    assert.equal(failing.code, 1, show(failing));
    assert.match(failing.stdout, /ERROR .*step \d+ \(RUN echo about to fail && exit 3\) failed with exit code 3/, show(failing));
    assert.match(failing.stderr, /building template cli-fails failed: step \d+ \(RUN echo about to fail && exit 3\) failed with exit code 3[\s\S]*about to fail/);
  });
});

describe('e2b CLI (unmodified @e2b/cli)', () => {
  const e2b = path.join(installDir, 'node_modules/@e2b/cli/dist/index.js');
  let context: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    context = await mkdtemp(path.join(scratch, 'e2b-ctx-'));
    await writeFile(path.join(context, 'file.txt'), 'copied by the e2b cli\n');
    await writeFile(path.join(context, 'novita.Dockerfile'), 'FROM e2bdev/base\nRUN echo hi > /hello\nCOPY file.txt /home/user/file.txt\nENV A=1\nWORKDIR /home/user\n');
    // Its settings: E2B_API_URL and E2B_API_KEY; a HOME of its own so no ~/.e2b login is read,
    // and no update check (a request to the npm registry).
    const home = await mkdtemp(path.join(scratch, 'home-'));
    env = envWith({ E2B_API_URL: server.current().url, E2B_API_KEY: server.current().apiKey, HOME: home, NO_UPDATE_NOTIFIER: '1' });
  });

  it('template create builds novita.Dockerfile; a sandbox of it has the file, the RUN output and the ENV', async () => {
    const created = await run(process.execPath, [e2b, 'template', 'create', 'e2b-cli-env', '-d', 'novita.Dockerfile'], { cwd: context, env });
    assert.equal(created.code, 0, show(created));
    assert.match(created.stdout, /Building sandbox template e2b-cli-env finished/, show(created));

    assert.equal(await runInNewSandbox('e2b-cli-env', 'cat /hello; cat file.txt; echo "A=$A in $(pwd)"'), 'hi\ncopied by the e2b cli\nA=1 in /home/user\n');
  });

  it('template list shows it and template delete -y deletes it', async () => {
    const pretty = await run(process.execPath, [e2b, 'template', 'list'], { cwd: context, env });
    assert.equal(pretty.code, 0, show(pretty));
    assert.match(pretty.stdout, /Private\s+\w+\s+e2b-cli-env\s+2\s+1024\s/, show(pretty));
    const json = await run(process.execPath, [e2b, 'template', 'list', '-f', 'json'], { cwd: context, env });
    assert.equal(json.code, 0, show(json));
    const names = (JSON.parse(json.stdout) as Array<{ aliases: string[] }>).flatMap((t) => t.aliases);
    assert.ok(names.includes('e2b-cli-env') && names.includes('base'), json.stdout);

    const deleted = await run(process.execPath, [e2b, 'template', 'delete', 'e2b-cli-env', '-y'], { cwd: context, env });
    assert.equal(deleted.code, 0, show(deleted));
    assert.match(deleted.stdout, /Deleting sandbox template e2b-cli-env/);
    assert.equal(await Template.exists('e2b-cli-env'), false);
    const listed = await run(process.execPath, [e2b, 'template', 'list'], { cwd: context, env });
    assert.doesNotMatch(listed.stdout, /e2b-cli-env/);
  });
});
