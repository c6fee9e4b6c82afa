// User templates through the unmodified e2b SDK builder: steps run in real sandboxes, each a
// layer; COPY files uploaded to signed URLs; a start command up before the first create.
import assert from 'node:assert/strict';
import { readdir, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Sandbox, Template, waitForPort, BuildError } from 'e2b';
import { Sandbox as NovitaSandbox, Template as NovitaTemplate } from 'novita-sandbox';
import { runInNewSandbox } from './support/template-sandbox.js';
import { apiFetch, startServerProcess, useTestServer } from './support/server-process.js';
import { waitFor } from './support/wait-for.js';
import { dataFiles } from '../src/config.js';

const server = useTestServer({ env: { SANDCASTLE_TEMPLATE_READY_TIMEOUT: '15', SANDCASTLE_MAX_UPLOAD_MB: '1' } });

let context: string;
before(async () => {
  context = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-template-ctx-'));
  await mkdir(path.join(context, 'app'));
  await writeFile(path.join(context, 'app', 'index.html'), '<h1>from the template</h1>\n');
  await writeFile(path.join(context, 'app', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
});
after(async () => {
  await rm(context, { recursive: true, force: true });
});

describe('Template builder (e2b SDK)', () => {
  it('builds from base with run, copy, envs, workdir and a start command; a sandbox starts with the service up', async () => {
    const logs: string[] = [];
    const t = Template({ fileContextPath: context })
      .fromTemplate('base')
      .runCmd('echo hi > /tmp/hello && sudo mkdir -p /srv/data && sudo chown user /srv/data')
      .copy('app/', '/home/user/app/')
      .setEnvs({ GREETING: 'hello there' })
      .setWorkdir('/home/user/app')
      .runCmd('echo "$GREETING from $(pwd) as $(whoami)" > made.txt')
      .setStartCmd('python3 -m http.server 8000', waitForPort(8000));
    const info = await Template.build(t, 'my-env', { cpuCount: 1, memoryMB: 512, onBuildLogs: (e) => logs.push(e.message) });
    assert.equal(info.name, 'my-env');
    assert.ok(logs.some((l) => l.includes('RUN')), logs.join('\n'));
    assert.ok(await Template.exists('my-env'));

    const sbx = await Sandbox.create('my-env');
    try {
      const r = await sbx.commands.run('cat made.txt && cat /tmp/hello && ls -l run.sh && echo $GREETING && curl -s localhost:8000/index.html');
      assert.match(r.stdout, /hello there from \/home\/user\/app as user/);
      assert.match(r.stdout, /^hi$/m);
      assert.match(r.stdout, /-rwxr-xr-x .* user user .* run\.sh/);
      assert.match(r.stdout, /<h1>from the template<\/h1>/);
    } finally {
      await sbx.kill();
    }

    // Unchanged: every layer from the cache.
    const again: string[] = [];
    await Template.build(t, 'my-env', { onBuildLogs: (e) => again.push(e.message) });
    assert.equal(again.filter((l) => l.startsWith('CACHED')).length, 4, again.join('\n'));
  });

  it('a RUN that fails ends the build in error with the step, the command, its exit code and output', async () => {
    const t = Template().fromTemplate('base').runCmd('echo about to fail && exit 3');
    await assert.rejects(Template.build(t, 'failing-env'), (e: unknown) => {
      assert.ok(e instanceof BuildError, String(e));
      assert.match((e as Error).message, /step 1 \(RUN echo about to fail && exit 3\) failed with exit code 3/);
      assert.match((e as Error).message, /about to fail/);
      return true;
    });
  });

  it('a start command that never gets ready fails the build with its output', async () => {
    const t = Template().fromTemplate('base').setStartCmd('echo starting up; sleep 1000', waitForPort(8123));
    await assert.rejects(Template.build(t, 'never-ready'), /did not get ready[\s\S]*starting up/);
  });

  it('builds in the background under tags; a tag picks its build; skipCache rebuilds; a name being built is refused', async () => {
    const version = (v: string) => Template().fromTemplate('base').runCmd(`sleep 2; echo ${v} > /home/user/version`);
    const v1 = await Template.buildInBackground(version('one'), 'tagged-env:v1');
    const busy = await apiFetch(server.current(), '/v3/templates', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tagged-env' }) });
    assert.equal(busy.status, 409);
    assert.match((await busy.json() as { message: string }).message, /is being built/);
    let status = await Template.getBuildStatus(v1);
    for (let i = 0; i < 300 && (status.status === 'building' || status.status === 'waiting'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await Template.getBuildStatus(v1);
    }
    assert.equal(status.status, 'ready', JSON.stringify(status.reason));
    const logged = await Template.getBuildStatus(v1, { logsOffset: 0 });
    assert.ok(logged.logEntries.some((e) => e.message.includes('RUN sleep 2')));

    const rebuilt: string[] = [];
    await Template.build(version('two'), 'tagged-env:v2', { skipCache: true, onBuildLogs: (e) => rebuilt.push(e.message) });
    assert.ok(!rebuilt.some((l) => l.startsWith('CACHED')), rebuilt.join('\n'));
    await Template.assignTags('tagged-env:v1', ['stable']);
    const tags = (await Template.getTags(v1.templateId)).map((t) => t.tag).sort();
    assert.deepEqual(tags, ['stable', 'v1', 'v2']);

    const read = async (ref: string) => (await runInNewSandbox(ref, 'cat /home/user/version')).trim();
    assert.equal(await read('tagged-env:v1'), 'one');
    assert.equal(await read('tagged-env:stable'), 'one');
    assert.equal(await read('tagged-env:v2'), 'two');
    assert.equal(await read('tagged-env'), 'two');
    await Template.removeTags('tagged-env', 'stable');
    assert.equal(await Template.exists('tagged-env:stable'), false);
    await assert.rejects(Sandbox.create('tagged-env:stable'), /not found/);
  });

  it('a Dockerfile\'s CMD becomes the start command and ENV, USER and WORKDIR its defaults', async () => {
    const t = Template({ fileContextPath: context }).fromDockerfile([
      'FROM e2bdev/base',
      'ENV PORT=8040 MODE=docker',
      'RUN mkdir -p /srv/site && echo served > /srv/site/index.html',
      'COPY app/run.sh /usr/local/bin/run.sh',
      'WORKDIR /srv/site',
      'CMD ["python3", "-m", "http.server", "8040"]',
    ].join('\n'));
    await Template.build(t, 'docker-env');
    assert.equal(await runInNewSandbox('docker-env', 'echo $MODE $(whoami) $(pwd); run.sh; curl -s localhost:8040/index.html'), 'docker user /srv/site\nran\nserved\n');
  });

  it('deletes a template; a COPY of files never uploaded is refused', async () => {
    const requested = await apiFetch(server.current(), '/v3/templates', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'no-upload' }) });
    const { templateID, buildID } = await requested.json() as { templateID: string; buildID: string };
    const start = await apiFetch(server.current(), `/v2/templates/${templateID}/builds/${buildID}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fromTemplate: 'base', steps: [{ type: 'COPY', args: ['x', '/x', '', ''], filesHash: 'e'.repeat(64), force: false }] }),
    });
    assert.equal(start.status, 400);
    assert.match((await start.json() as { message: string }).message, /step 1 \(COPY\) names files hash e+, which was never uploaded/);

    assert.equal((await apiFetch(server.current(), '/templates/my-env', { method: 'DELETE' })).status, 204);
    assert.equal(await Template.exists('my-env'), false);
    const again = await apiFetch(server.current(), '/templates/my-env', { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.match((await again.json() as { message: string }).message, /template 'my-env' not found/);
    const builtin = await apiFetch(server.current(), '/templates/base', { method: 'DELETE' });
    assert.equal(builtin.status, 409);
    assert.match((await builtin.json() as { message: string }).message, /built in/);
  });

  it('a template deleted while its sandboxes run leaves them running', async () => {
    await Template.build(Template().fromTemplate('base').runCmd('echo still here > /home/user/note'), 'short-lived');
    const sbx = await Sandbox.create('short-lived');
    try {
      assert.equal((await apiFetch(server.current(), '/templates/short-lived', { method: 'DELETE' })).status, 204);
      assert.equal((await sbx.commands.run('cat /home/user/note')).stdout, 'still here\n');
      await assert.rejects(Sandbox.create('short-lived'), /not found/);
    } finally {
      await sbx.kill();
    }
  });

  it('a restart marks a build it cut short as failed, with a reason, and leaves nothing of it', async () => {
    const b = await Template.buildInBackground(Template().fromTemplate('base').runCmd('echo started; sleep 60'), 'cut-short');
    for (let i = 0; i < 150; i++) {
      const s = await Template.getBuildStatus(b, { logsOffset: 0 });
      if (s.logEntries.some((e) => e.message === 'started')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const crashed = server.current();
    await crashed.crash();
    server.replace(await startServerProcess({ dataDir: crashed.dataDir, env: { ...crashed.env, SANDCASTLE_PORT: new URL(crashed.url).port } }));
    const status = await Template.getBuildStatus(b);
    assert.equal(status.status, 'error');
    assert.match(status.reason?.message ?? '', /server restarted during this build/);
    assert.equal(existsSync(path.join(crashed.dataDir, 'builds')), false);
    const running = await readdir(path.join(crashed.dataDir, 'runc')).catch(() => []);
    assert.deepEqual(running, []);
    assert.equal(await Template.exists('cut-short'), false);
  });

  it('upload URLs: no API key needed, a forged one is 401, a body over the limit 413, one without a length 411', async () => {
    const requested = await apiFetch(server.current(), '/v3/templates', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'uploads' }) });
    const { templateID } = await requested.json() as { templateID: string };
    const hash = 'f'.repeat(64);
    const link = await (await apiFetch(server.current(), `/templates/${templateID}/files/${hash}`)).json() as { present: boolean; url: string };
    assert.equal(link.present, false);
    const forged = new URL(link.url);
    forged.searchParams.set('signature', '0'.repeat(64));
    const put = (url: string | URL, body: BodyInit, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'PUT', body, headers, duplex: 'half' } as RequestInit);
    const refused = await put(forged, 'x');
    assert.equal(refused.status, 401);
    assert.match((await refused.json() as { message: string }).message, /signature does not match/);
    assert.equal((await put(link.url, Buffer.alloc(2 * 1024 * 1024))).status, 413);
    const chunked = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1, 2, 3])); c.close(); } });
    assert.equal((await put(link.url, chunked)).status, 411);
    assert.equal((await put(link.url, 'tar bytes')).status, 200);
    const again = await (await apiFetch(server.current(), `/templates/${templateID}/files/${hash}`)).json() as { present: boolean };
    assert.equal(again.present, true);
  });

  it('the novita-sandbox builder builds too, and its sandboxes start from the template', async () => {
    const t = NovitaTemplate().fromTemplate('base').runCmd('echo built by novita > /home/user/novita.txt').setEnvs({ FROM_NOVITA: 'yes' });
    await NovitaTemplate.build(t, 'novita-env');
    const sbx = await NovitaSandbox.create('novita-env');
    try {
      assert.equal((await sbx.commands.run('cat /home/user/novita.txt; echo $FROM_NOVITA')).stdout, 'built by novita\nyes\n');
    } finally {
      await sbx.kill();
    }
  });

  it('a rebuild that changes only the start command starts the new one', async () => {
    const serve = (port: number) => Template().fromTemplate('base').runCmd('echo same layers > /home/user/index.html')
      .setStartCmd(`python3 -m http.server ${port}`, waitForPort(port));
    await Template.build(serve(8101), 'service-env');
    assert.equal(await runInNewSandbox('service-env', 'curl -s localhost:8101/index.html'), 'same layers\n');
    await Template.build(serve(8102), 'service-env');
    assert.equal(await runInNewSandbox('service-env', 'curl -s localhost:8102/index.html; curl -s -o /dev/null -w "%{http_code}" localhost:8101 || true'), 'same layers\n000');
  });

  it("a build's boot state is saved again settled in the background, and a cached rebuild keeps that one", async () => {
    const t = Template().fromTemplate('base').runCmd('echo settled > /home/user/settled.txt');
    const { templateId } = await Template.build(t, 'settle-env');
    const saves = () => server.current().output().split('\n').filter((l) => l.includes(`template ${templateId}: boot state saved`));
    await waitFor('the settled boot state', async () => saves(), (l) => l.some((line) => line.includes('"settled":true')), 60_000);
    const states = async () => (await readdir(dataFiles(server.current().dataDir).templateStates)).filter((n) => n.startsWith(`${templateId}-`));
    const settled = await states();
    assert.equal(settled.length, 1, `one boot state is kept: ${settled.join(', ')}`);
    assert.match(settled[0]!, /-settled$/);
    assert.equal(await runInNewSandbox('settle-env', 'cat /home/user/settled.txt'), 'settled\n');

    // The warm pool is filled from the settled state; a cached rebuild changes nothing in what
    // its sandboxes are made of, so it keeps them and the next create takes one.
    const pooled = async () => {
      const res = await apiFetch(server.current(), '/metrics', { headers: { Authorization: `Bearer ${server.current().apiKey}` } });
      const m = new RegExp(`^sandcastle_warm_pool_sandboxes\\{template="${templateId}"\\} (\\d+)$`, 'm').exec(await res.text());
      return Number(m?.[1] ?? 0);
    };
    await waitFor('the warm pool to fill', pooled, (n) => n === 2, 60_000);
    const runcRoot = server.current().env.SANDCASTLE_RUNC_ROOT!;
    const containers = () => new Set(execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean));
    const beforeRebuild = containers();

    const before = saves().length;
    await Template.build(t, 'settle-env');
    assert.deepEqual(await states(), settled, 'a cached rebuild replaced the settled boot state');
    assert.equal(saves().length, before, 'a cached rebuild saved a boot state again');
    const sbx = await Sandbox.create('settle-env');
    try {
      assert.ok(beforeRebuild.has(sbx.sandboxId), 'the create after a cached rebuild did not get a sandbox pooled before it');
    } finally {
      await sbx.kill();
    }
  });
});
