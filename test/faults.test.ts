// Bad input and faults: each gets the status and message the SDK expects, and loses nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Sandbox, SandboxError } from 'novita-sandbox';
import { dataFiles, installDir } from '../src/config.js';
import { fastCreatePreparedMessage, fastCreateStoppedMessage } from '../src/sandboxes/create.js';
import { apiFetch, disposeServer, startServerProcess, useTestServer } from './support/server-process.js';
import { waitFor } from './support/wait-for.js';


const testServer = useTestServer();

async function post(path: string, body: string): Promise<{ status: number; json: { code: number; message: string } }> {
  const res = await apiFetch(testServer.current(), path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as { code: number; message: string } };
}

async function sandboxCount(): Promise<number> {
  const res = await apiFetch(testServer.current(), `/v2/sandboxes`);
  return ((await res.json()) as unknown[]).length;
}

describe('bad input to the control plane', () => {
  it('an unknown template is a 404 naming the template, through the SDK too', async () => {
    const r = await post('/sandboxes', JSON.stringify({ templateID: 'no-such-template' }));
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { code: 404, message: "template 'no-such-template' not found" });
    await assert.rejects(Sandbox.create('no-such-template'), (err: Error) => /no-such-template/.test(err.message));
    assert.equal(await sandboxCount(), 0);
  });

  it('a timeout of zero, below zero or above the maximum is a 400 stating the allowed range', async () => {
    for (const timeout of [0, -5, 3601]) {
      const r = await post('/sandboxes', JSON.stringify({ templateID: 'base', timeout }));
      assert.equal(r.status, 400, `timeout ${timeout}`);
      assert.equal(r.json.code, 400);
      assert.match(r.json.message, /timeout must be between 1 and 3600 seconds/);
    }
    const sbx = await Sandbox.create();
    try {
      await assert.rejects(sbx.setTimeout(7_200_000), (err: Error) => err instanceof SandboxError && /between 1 and 3600/.test(err.message));
    } finally {
      await sbx.kill();
    }
    assert.equal(await sandboxCount(), 0);
  });

  it('malformed JSON is a 400 that says so', async () => {
    const r = await post('/sandboxes', '{"templateID": "base",');
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 400);
    assert.match(r.json.message, /not valid JSON/);
    const wrongType = await post('/sandboxes', JSON.stringify({ templateID: 'base', metadata: { n: 1 } }));
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.message, /metadata\.n/);
    assert.equal(await sandboxCount(), 0);
  });

  it('an unknown route is a JSON 404, and list rejects a bad state or limit', async () => {
    const res = await apiFetch(testServer.current(), `/no/such/route`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { message: string }).message, /no route for GET \/no\/such\/route/);
    const badState = await apiFetch(testServer.current(), `/v2/sandboxes?state=sleeping`);
    assert.equal(badState.status, 400);
    const badLimit = await apiFetch(testServer.current(), `/v2/sandboxes?limit=5000`);
    assert.equal(badLimit.status, 400);
  });
});

describe('API keys', () => {
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, ['--import', 'tsx', path.join(installDir, 'src/cli/main.ts'), 'keys', ...args], {
      cwd: installDir,
      env: { ...process.env, SANDCASTLE_DATA_DIR: testServer.current().dataDir },
      encoding: 'utf8',
    }).trim();

  it('the control plane refuses a request without a key or with an unknown one, with a 401 saying what to do', async () => {
    const url = `${testServer.current().url}/v2/sandboxes`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { code: 401, message: 'missing API key: send it in the X-API-KEY header (the SDKs read NOVITA_API_KEY or E2B_API_KEY); `sandcastle keys create` makes one' });
    const wrong = await fetch(url, { headers: { 'X-API-KEY': 'e2b_' + 'f'.repeat(40) } });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { message: string }).message, /API key not recognised/);
    await assert.rejects(Sandbox.create({ apiKey: 'e2b_' + 'f'.repeat(40) }), (err: Error) => /401|Unauthorized/i.test(err.message));
    assert.equal(await sandboxCount(), 0);
    // The key also works as a bearer token.
    assert.equal((await fetch(url, { headers: { Authorization: `Bearer ${testServer.current().apiKey}` } })).status, 200);
  });

  it('`sandcastle keys` makes, lists and deletes keys; a deleted key is refused at once', async () => {
    const key = cli('create', '--name', 'ci');
    assert.match(key, /^e2b_[0-9a-f]{40}$/);
    const url = `${testServer.current().url}/v2/sandboxes`;
    assert.equal((await fetch(url, { headers: { 'X-API-KEY': key } })).status, 200);
    const row = cli('list').split('\n').find((l) => l.split('\t')[1] === 'ci');
    assert.ok(row, 'the new key is listed by name');
    assert.ok(!cli('list').includes(key), 'the key itself is never shown again');
    cli('delete', row.split('\t')[0]!);
    assert.equal((await fetch(url, { headers: { 'X-API-KEY': key } })).status, 401);
    assert.throws(() => cli('delete', 'key_nosuchkey'), /no API key with id 'key_nosuchkey'/);
  });
});

describe('faults around a running sandbox', () => {
  it('a wrong envd access token is refused with 401', async () => {
    const sbx = await Sandbox.create();
    try {
      const headers = { 'Novita-Sandbox-Id': sbx.sandboxId, 'Novita-Sandbox-Port': '49983' };
      const wrong = await fetch(`${testServer.current().url}/files?path=/etc/hostname`, { headers: { ...headers, 'X-Access-Token': 'wrong' } });
      assert.equal(wrong.status, 401);
      const none = await fetch(`${testServer.current().url}/files?path=/etc/hostname`, { headers });
      assert.equal(none.status, 401);
      const info = await Sandbox.getFullInfo(sbx.sandboxId);
      const right = await fetch(`${testServer.current().url}/files?path=/etc/hostname&username=user`, {
        headers: { ...headers, 'X-Access-Token': info.envdAccessToken! },
      });
      assert.equal(right.status, 200);
      await right.arrayBuffer();
    } finally {
      await sbx.kill();
    }
  });

  it('traffic for an unknown sandbox gets a 502 naming it', async () => {
    const res = await fetch(`${testServer.current().url}/health`, { headers: { 'E2b-Sandbox-Id': 'nosuchsandbox000000' } });
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), { code: 502, message: 'The sandbox was not found', sandboxId: 'nosuchsandbox000000' });
  });

  it('killing a sandbox while a command streams ends the stream with an error and leaves nothing behind', async () => {
    const sbx = await Sandbox.create();
    let ticking!: () => void;
    const firstTick = new Promise<void>((resolve) => (ticking = resolve));
    const handle = await sbx.commands.run('while true; do echo tick; sleep 0.1; done', { background: true, onStdout: () => ticking() });
    await firstTick;
    await Sandbox.kill(sbx.sandboxId);
    await assert.rejects(handle.wait());
    assertSandboxGone(sbx.sandboxId);
  });

  it('a server killed with SIGKILL and started again still serves its running sandboxes and reaps killed ones', async () => {
    const keep = await Sandbox.create({ metadata: { role: 'keep' } });
    const doomed = await Sandbox.create({ timeoutMs: 3_000 });
    await keep.files.write('/tmp/before-crash', 'still here');
    const endAt = (await keep.getInfo()).endAt.getTime();

    await testServer.current().crash();
    // While the server is down, the doomed sandbox's deadline passes.
    await new Promise((r) => setTimeout(r, 3_500));
    const crashed = testServer.current();
    testServer.replace(
      await startServerProcess({
        dataDir: crashed.dataDir,
        env: { SANDCASTLE_PORT: new URL(crashed.url).port, SANDCASTLE_NETWORK_CIDR: crashed.env.SANDCASTLE_NETWORK_CIDR },
      }),
    );

    const again = await Sandbox.connect(keep.sandboxId);
    assert.equal(await again.files.read('/tmp/before-crash'), 'still here');
    assert.equal((await again.commands.run('echo alive')).stdout, 'alive\n');
    const info = await again.getInfo();
    assert.deepEqual(info.metadata, { role: 'keep' });
    assert.ok(info.endAt.getTime() >= endAt, 'the deadline kept counting from where it was');

    await assert.rejects(Sandbox.getInfo(doomed.sandboxId));
    assertSandboxGone(doomed.sandboxId);
    assert.equal((await keep.commands.run('echo same-instance')).stdout, 'same-instance\n');
    await keep.kill();
    assertSandboxGone(keep.sandboxId);
  });
});

describe('stopping a server', () => {
  it('a stop while boot states are being saved ends that work at once and leaves nothing of it', async () => {
    // A new data folder: the server saves its templates' boot states, each after its sandbox ran
    // for a while, and a stop must not wait for that.
    const server = await startServerProcess();
    try {
      const runcRoot = server.env.SANDCASTLE_RUNC_ROOT!;
      const containers = () => execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      await waitFor('a boot-state sandbox to run', async () => containers(), (list) => list.length > 0, 60_000);
      await server.stop();
      assert.ok(server.output().includes(fastCreateStoppedMessage), `the server did not say its preparation stopped:\n${server.output()}`);
      assert.ok(!server.output().includes(fastCreatePreparedMessage), 'the preparation ran to its end before the server stopped');
      assert.ok(!server.output().includes('boot state saved'), 'a boot state was saved after the stop began');
      assert.equal(containers(), '', 'a boot-state sandbox outlived the stop');
    } finally {
      await disposeServer(server);
    }
  });
});

describe("a template's boot state", () => {
  it('a create that cannot restore it boots instead, and the state is saved anew for the next creates', async () => {
    const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_BOOT_STATE_RETRY: '1' } });
    const made: Sandbox[] = [];
    try {
      const opts = { apiUrl: server.url, sandboxUrl: server.url, apiKey: server.apiKey };
      const states = dataFiles(server.dataDir).templateStates;
      const [base] = readdirSync(states).filter((n) => n.startsWith('base-'));
      assert.ok(base, `no boot state of base in ${states}`);
      // CRIU cannot start a restore without the image's inventory.
      rmSync(path.join(states, base, 'image', 'inventory.img'));
      made.push(await Sandbox.create(opts));
      assert.equal((await made[0]!.commands.run('echo booted')).stdout, 'booted\n');
      const failures = () => server.output().split('\n').filter((l) => l.includes('template base: restoring its saved state failed'));
      assert.equal(failures().length, 1, 'the failed restore was not logged');
      await waitFor('the boot state saved anew', async () => server.output(), (out) => out.includes('template base: boot state saved anew'), 60_000);
      made.push(await Sandbox.create(opts));
      assert.equal((await made[1]!.commands.run('echo restored')).stdout, 'restored\n');
      assert.equal(failures().length, 1, 'the state saved anew could not be restored either');
    } finally {
      for (const s of made) await s.kill();
      await disposeServer(server);
    }
  });
});

/** No container, mount, namespace, veth, cgroup or folder of the sandbox is left on the host. */
function assertSandboxGone(id: string): void {
  const runc = execFileSync('runc', ['--root', testServer.current().env.SANDCASTLE_RUNC_ROOT!, 'list', '-q'], { encoding: 'utf8' });
  assert.ok(!runc.includes(id), `runc still lists ${id}`);
  assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(id), `a mount of ${id} is left`);
  assert.ok(!existsSync(`/var/run/netns/sc-${id}`), `the network namespace of ${id} is left`);
  assert.ok(!existsSync(`/sys/class/net/sc${id.slice(0, 13)}`), `the veth of ${id} is left`);
  assert.ok(!existsSync(`/sys/fs/cgroup/memory/sandcastle/${id}`), `the cgroup of ${id} is left`);
  assert.ok(!existsSync(`${testServer.current().dataDir}/sandboxes/${id}`), `the folder of ${id} is left`);
}
