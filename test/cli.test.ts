// The `sandcastle` CLI against a real server, run as users run it (a child process): each
// command's text and JSON/YAML output, `connect` through a real pseudo-terminal (util-linux's
// `script`), exit codes, and the errors a user can hit.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { installDir } from '../src/config.js';
import { useTestServer } from './support/server-process.js';

const server = useTestServer();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const main = path.join(installDir, 'src/cli/main.ts');

/** The environment without any of the variables the CLI reads, then `extra`. */
function envWith(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(NOVITA|E2B)_/.test(k) || k === 'SANDCASTLE_DATA_DIR') delete env[k];
  return { ...env, ...extra };
}

/** As the SDK's users set it: the API URL and key, nothing else (envd through the same port). */
const sdkEnv = () => envWith({ NOVITA_API_URL: server.current().url, NOVITA_API_KEY: server.current().apiKey });

async function sandcastle(args: string[], env: NodeJS.ProcessEnv = sdkEnv()): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, ...args], { cwd: installDir, env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

const show = (r: Run) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** Runs and asserts exit 0. */
async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await sandcastle(args, env);
  assert.equal(r.code, 0, `sandcastle ${args.join(' ')}\n${show(r)}`);
  return r.stdout;
}

async function json<T>(args: string[], env?: NodeJS.ProcessEnv): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'], env)) as T;
}

interface SandboxRow {
  sandboxID: string;
  templateID: string;
  state: string;
  metadata: Record<string, string>;
  network?: { allowOut?: string[]; denyOut?: string[] };
}

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('sandcastle sandbox', () => {
  let id: string;

  it('create -d prints the ID; list shows it as a table, JSON and YAML, filtered by state and metadata', async () => {
    id = (await ok(['sandbox', 'create', '-d', '--metadata', 'suite=cli', '--metadata', 'who=me', '--timeout', '10m', '-e', 'GREETING=hello'])).trim();
    assert.match(id, /^[a-z0-9]{20}$/);

    const table = (await ok(['sandbox', 'list'])).trim().split('\n');
    assert.match(table[0]!, /^SANDBOX ID\s+TEMPLATE ID\s+ALIAS\s+STARTED AT\s+END AT\s+STATE\s+VCPUS\s+RAM MIB\s+METADATA$/);
    const row = table.find((l) => l.startsWith(id));
    assert.ok(row, table.join('\n'));
    assert.match(row, /\sbase\s+base\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\S+ \S+\s+Running\s+2\s+\d+\s+\{"suite":"cli","who":"me"\}$/);

    const listed = await json<SandboxRow[]>(['sandbox', 'list', '-m', 'suite=cli,who=me']);
    assert.deepEqual(listed.map((s) => [s.sandboxID, s.state, s.metadata]), [[id, 'running', { suite: 'cli', who: 'me' }]]);
    assert.deepEqual(await json<SandboxRow[]>(['sandbox', 'list', '-m', 'suite=other']), []);
    const yaml = parseYaml(await ok(['sandbox', 'list', '-o', 'yaml'])) as SandboxRow[];
    assert.ok(yaml.some((s) => s.sandboxID === id && s.templateID === 'base'));
    assert.equal((await ok(['sandbox', 'list', '-s', 'paused'])).trim(), 'No sandboxes found');

    const detached = await json<SandboxRow & { envdAccessToken?: string }>(['sandbox', 'create', '-d', '--metadata', 'suite=cli']);
    assert.equal(detached.state, 'running');
    assert.equal(detached.envdAccessToken, undefined, 'the envd token is not printed');
  });

  it('info shows one sandbox as labelled lines and as JSON', async () => {
    const text = await ok(['sandbox', 'info', id]);
    assert.match(text, new RegExp(`^Sandbox ID: ${id}$`, 'm'));
    assert.match(text, /^Template ID: base$/m);
    assert.match(text, /^State: running$/m);
    assert.match(text, /^Metadata: \{"suite":"cli","who":"me"\}$/m);
    const info = await json<SandboxRow & { lifecycle: unknown }>(['sandbox', 'info', id]);
    assert.equal(info.sandboxID, id);
    assert.deepEqual(info.lifecycle, { onTimeout: 'kill', autoResume: false });
  });

  it('exec streams stdout and stderr and exits with the command\'s code; arguments keep their quoting', async () => {
    const r = await sandcastle(['sandbox', 'exec', id, '--', 'sh', '-c', 'echo "out $GREETING"; echo err >&2; exit 3']);
    assert.equal(r.code, 3, show(r));
    assert.equal(r.stdout, 'out hello\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(await ok(['sandbox', 'exec', '-c', '/tmp', id, '--', 'printf', '%s|', 'a b', "it's", '$HOME']), 'a b|it\'s|$HOME|');
    assert.equal(await ok(['sandbox', 'exec', '-u', 'root', id, 'whoami; pwd']), 'root\n/root\n');
  });

  it('connect opens a real terminal: raw keys, `echo hi` answers hi, the window size follows SIGWINCH, the exit code comes back', async () => {
    const resizeFlag = path.join(scratch, 'resize-now');
    // The shell that `script` runs on its PTY changes the window size when the test says so (a
    // background job's stdin is /dev/null, hence /dev/tty); the kernel then sends SIGWINCH to the
    // CLI, which is in the foreground.
    const cli = [process.execPath, '--import', 'tsx', main, 'sandbox', 'connect', id].map((a) => `'${a}'`).join(' ');
    const line = `stty rows 30 cols 100; (while [ ! -e '${resizeFlag}' ]; do sleep 0.1; done; stty cols 120 </dev/tty) & ${cli}`;
    const child = spawn('script', ['-qec', line, '/dev/null'], { cwd: installDir, env: sdkEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (re: RegExp, from: number) => {
      const deadline = Date.now() + 60_000;
      while (!re.test(out.slice(from))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} in the terminal:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await waitFor(/\$ $/m, 0);
      let mark = out.length;
      child.stdin.write('echo hi\r');
      await waitFor(/^hi\r?$/m, mark);
      mark = out.length;
      child.stdin.write('stty size\r');
      await waitFor(/^30 100\r?$/m, mark);
      await writeFile(resizeFlag, '');
      // The size changes a moment after the flag; ask until the shell sees it.
      const deadline = Date.now() + 30_000;
      for (;;) {
        mark = out.length;
        child.stdin.write('stty size\r');
        await waitFor(/^30 \d+\r?$/m, mark);
        if (/^30 120\r?$/m.test(out.slice(mark))) break;
        assert.ok(Date.now() < deadline, `the size never became 30 120:\n${out}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      child.stdin.write('exit 4\r');
      assert.equal(await exited, 4, out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    assert.match(out, new RegExp(`Terminal connected to sandbox ${id}`));
    assert.match(out, new RegExp(`Watch it live at http://\\S+/dashboard/inspect/sandbox/${id}`));
  });

  it('create without -d opens a shell in the new sandbox (its -e variables set) and kills it when the shell exits', async () => {
    const cli = [process.execPath, '--import', 'tsx', main, 'sandbox', 'create', '-e', 'FOO=bar', '-u', 'root', '--metadata', 'suite=cli-attached'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', cli, '/dev/null'], { cwd: installDir, env: sdkEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/# $/m.test(out)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `no root prompt:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const mark = out.length;
      child.stdin.write('echo "$FOO from $(whoami)"; exit\r');
      assert.equal(await exited, 0, out);
      assert.match(out.slice(mark), /^bar from root\r?$/m);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const killed = /Sandbox (\w+) killed \(give --timeout/.exec(out);
    assert.ok(killed, out);
    assert.deepEqual(await json(['sandbox', 'list', '-m', 'suite=cli-attached']), []);
  });

  it('pause and resume: text, "already paused", JSON, and list --state paused', async () => {
    assert.equal((await ok(['sandbox', 'pause', id])).trim(), `Sandbox ${id} has been paused`);
    assert.equal((await ok(['sandbox', 'pause', id])).trim(), `Sandbox ${id} is already paused`);
    assert.deepEqual((await json<SandboxRow[]>(['sandbox', 'list', '-s', 'paused'])).map((s) => s.sandboxID), [id]);
    assert.equal((await ok(['sandbox', 'resume', id])).trim(), `Sandbox ${id} has been resumed`);
    assert.equal((await json<SandboxRow>(['sandbox', 'info', id])).state, 'running');
    // The shell's state came back with it.
    assert.equal(await ok(['sandbox', 'exec', id, 'echo $GREETING']), 'hello\n');
  });

  it('metrics and logs: samples and lifecycle lines, as text and JSON', async () => {
    let samples: Array<{ cpuCount: number; memTotal: number }> = [];
    for (let i = 0; i < 60 && samples.length === 0; i++) {
      samples = await json(['sandbox', 'metrics', id]);
      if (!samples.length) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(samples.length > 0 && samples[0]!.cpuCount === 2 && samples[0]!.memTotal > 0, JSON.stringify(samples));
    assert.match(await ok(['sandbox', 'metrics', id]), /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\] CPU: +[\d.]+% \/ 2 cores \| Memory: +\d+ \/ \d+ MiB \| Disk: +\d+ \/ \d+ MiB$/m);

    const text = await ok(['sandbox', 'logs', id, '--loggers', 'lifecycle']);
    assert.match(text, /^\[\S+ \S+\] INFO  lifecycle: create done {2}operation=create durationMs=\d+$/m);
    assert.match(text, /lifecycle: pause done/);
    const logs = await json<Array<{ level: string; message: string; fields: Record<string, string> }>>(['sandbox', 'logs', id]);
    assert.ok(logs.some((l) => l.message === 'resume done' || l.message === 'connect done'), JSON.stringify(logs));
    assert.ok(logs.some((l) => l.fields.logger === 'envd'), 'envd lines are there too');
  });

  it('network replaces the outbound rules; info shows them', async () => {
    const text = await ok(['sandbox', 'network', id, '--deny-out', '0.0.0.0/0', '--allow-out', '1.1.1.1,8.8.8.0/24']);
    assert.equal(text, `Outbound rules of sandbox ${id} replaced\nallow out: 1.1.1.1, 8.8.8.0/24\ndeny out: 0.0.0.0/0\n`);
    assert.deepEqual((await json<SandboxRow>(['sandbox', 'info', id])).network, { allowOut: ['1.1.1.1', '8.8.8.0/24'], denyOut: ['0.0.0.0/0'] });
    assert.deepEqual(await json(['sandbox', 'network', id]), { sandboxID: id, allowOut: [], denyOut: [] });
  });

  it('clone <id> -c <count> -s -t <timeout>, as the product page writes it: the copies have the files', async () => {
    await ok(['sandbox', 'exec', id, 'echo made-before-clone > /tmp/mark']);
    const text = (await ok(['sandbox', 'clone', id, '-c', '2', '-s', '-t', '120'])).trim().split('\n');
    assert.equal(text[0], `Cloned sandbox ${id} into 2 of 2 sandboxes:`);
    const clones = text.slice(1);
    assert.equal(clones.length, 2);
    for (const c of clones) assert.equal(await ok(['sandbox', 'exec', c, 'cat /tmp/mark']), 'made-before-clone\n');
    const viaJson = await json<{ sourceSandboxID: string; sandboxIDs: string[] }>(['sandbox', 'clone', id]);
    assert.equal(viaJson.sourceSandboxID, id);
    assert.equal(viaJson.sandboxIDs.length, 1);
    assert.equal((await ok(['sandbox', 'kill', ...clones, ...viaJson.sandboxIDs])).trim().split('\n').length, 3);
  });

  it('kill by ID, and kill -a with a metadata filter; without either it says what to give; followers stop', async () => {
    const other = (await ok(['sandbox', 'create', '-d', '--metadata', 'suite=cli-kill'])).trim();
    // Following from before the kill: it has printed a line when the kill comes.
    const follower = spawn(process.execPath, ['--import', 'tsx', main, 'sandbox', 'logs', other, '-f', '-o', 'json'], { cwd: installDir, env: sdkEnv() });
    let followedOut = '';
    let followedErr = '';
    follower.stdout.on('data', (b: Buffer) => (followedOut += b.toString()));
    follower.stderr.on('data', (b: Buffer) => (followedErr += b.toString()));
    const followerExit = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
    while (!followedOut.includes('\n')) {
      assert.equal(follower.exitCode, null, followedErr);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await sandcastle(['sandbox', 'kill']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /give the IDs of the sandboxes to kill, or -a\/--all/);
    assert.equal((await ok(['sandbox', 'kill', '-a', '-m', 'suite=cli-kill'])).trim(), `Sandbox ${other} has been killed\nKilled 1 sandboxes`);
    assert.equal(await followerExit, 0, followedErr);
    assert.match(followedErr, new RegExp(`Stopped following: sandbox ${other} is gone`));
    const lines = followedOut.trim().split('\n').map((l) => JSON.parse(l) as { message: string });
    assert.ok(lines.some((l) => l.message === 'create done'), followedOut);
    assert.ok((await json<SandboxRow[]>(['sandbox', 'list'])).some((s) => s.sandboxID === id), 'the filter spared the others');
    assert.deepEqual(await json(['sandbox', 'kill', '-a', '-m', 'suite=cli-kill']), { killed: [] });
    assert.deepEqual(await json(['sandbox', 'kill', id]), { killed: [id] });
    const gone = await sandcastle(['sandbox', 'info', id]);
    assert.equal(gone.code, 1, show(gone));
  });
});

describe('sandcastle snapshot, volume and template', () => {
  it('snapshot create|list|delete, and a sandbox started from the snapshot has its files', async () => {
    const id = (await ok(['sandbox', 'create', '-d'])).trim();
    await ok(['sandbox', 'exec', id, 'echo in-the-snapshot > /home/user/kept']);
    const text = await ok(['snapshot', 'create', id, '-n', 'cli-snap']);
    const snap = /^Created snapshot (\S+) from sandbox /.exec(text)?.[1];
    assert.ok(snap, text);
    const listed = await ok(['snapshot', 'list']);
    assert.match(listed, /^SNAPSHOT ID\s+NAMES$/m);
    assert.match(listed, new RegExp(`^${snap}\\s+cli-snap:default$`, 'm'));
    assert.deepEqual(await json(['snapshot', 'list', '--sandbox-id', id]), [{ snapshotID: snap, names: ['cli-snap:default'] }]);

    const fromSnap = (await ok(['sandbox', 'create', '-d', 'cli-snap'])).trim();
    assert.equal(await ok(['sandbox', 'exec', fromSnap, 'cat /home/user/kept']), 'in-the-snapshot\n');
    await ok(['sandbox', 'kill', id, fromSnap]);

    assert.equal((await ok(['snapshot', 'delete', snap])).trim(), `Snapshot ${snap} has been deleted`);
    const again = await sandcastle(['snapshot', 'delete', snap]);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stderr, /no snapshot '.+' on http:\/\/.+ \(see `sandcastle snapshot list`\)/);
    // The delete route deletes templates too: the CLI never passes it a template's name.
    const base = await sandcastle(['snapshot', 'delete', 'base']);
    assert.equal(base.code, 1, show(base));
    assert.ok((await json<Array<{ templateID: string }>>(['template', 'list'])).some((t) => t.templateID === 'base'));
  });

  it('volume create|list|info|delete, by ID or name; an unknown volume is the server\'s 404', async () => {
    const made = await json<{ volumeID: string; name: string; token: string }>(['volume', 'create', 'cli-vol']);
    assert.equal(made.name, 'cli-vol');
    assert.match(await ok(['volume', 'list']), new RegExp(`^${made.volumeID}\\s+cli-vol$`, 'm'));
    const yaml = parseYaml(await ok(['volume', 'list', '-o', 'yaml'])) as Array<{ volumeID: string }>;
    assert.ok(yaml.some((v) => v.volumeID === made.volumeID));
    const info = await ok(['volume', 'info', 'cli-vol']);
    assert.equal(info, `Volume ID: ${made.volumeID}\nName: cli-vol\nToken: ${made.token}\n`);

    const id = (await ok(['sandbox', 'create', '-d', '--volume-mount', '/mnt/data=cli-vol'])).trim();
    await ok(['sandbox', 'exec', id, 'echo on-the-volume > /mnt/data/f']);
    await ok(['sandbox', 'kill', id]);

    assert.equal((await ok(['volume', 'delete', made.volumeID])).trim(), `Volume cli-vol (${made.volumeID}) has been deleted`);
    const unknown = await sandcastle(['volume', 'info', made.volumeID]);
    assert.equal(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr, /404 volume '.+' not found/);
  });

  it('template list as a table and as JSON', async () => {
    assert.match(await ok(['template', 'list']), /^base\s+base\s+\d+\s+\d+\s+ready\s+/m);
    const templates = await json<Array<{ templateID: string }>>(['template', 'list']);
    assert.ok(templates.some((t) => t.templateID === 'base'));
  });
});

describe('settings and errors', () => {
  it('an unknown sandbox is the server\'s message and exit 1', async () => {
    for (const args of [['sandbox', 'info', 'nosuchsandbox'], ['sandbox', 'pause', 'nosuchsandbox'], ['sandbox', 'exec', 'nosuchsandbox', 'true'], ['sandbox', 'connect', 'nosuchsandbox']]) {
      const r = await sandcastle(args);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /404 sandbox 'nosuchsandbox' not found/, show(r));
    }
  });

  it('no key: says which variable to set, exit 1', async () => {
    const empty = await mkdtemp(path.join(scratch, 'no-data-'));
    const r = await sandcastle(['sandbox', 'list'], envWith({ NOVITA_API_URL: server.current().url, SANDCASTLE_DATA_DIR: empty }));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /no API key for http:\/\/\S+: set NOVITA_API_KEY \(or E2B_API_KEY\)/);
  });

  it('bad option values are refused with what was expected', async () => {
    const r = await sandcastle(['sandbox', 'list', '-o', 'xml']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /must be one of pretty, json, yaml, got "xml"/);
    const t = await sandcastle(['sandbox', 'create', '-d', '--timeout', 'soon']);
    assert.notEqual(t.code, 0, show(t));
    assert.match(t.stderr, /expected a duration such as 90, 90s, 5m or 1h/);
  });

  it('E2B_* variables work as NOVITA_* do, and --data-dir gives keys and the key fallback the server\'s folder', async () => {
    const viaE2b = await json<unknown[]>(['sandbox', 'list'], envWith({ E2B_API_URL: server.current().url, E2B_API_KEY: server.current().apiKey }));
    assert.ok(Array.isArray(viaE2b));

    // No SANDCASTLE_DATA_DIR: only the flag says where the server's database is.
    const noEnv = envWith({});
    const key = await json<{ id: string; name: string; key: string }>(['keys', 'create', '--name', 'cli-test', '--data-dir', server.current().dataDir], noEnv);
    assert.equal(key.name, 'cli-test');
    assert.match(await ok(['keys', 'list', '--data-dir', server.current().dataDir], noEnv), new RegExp(`^${key.id}\tcli-test\t\\d{4}-`, 'm'));
    const withNewKey = await sandcastle(['sandbox', 'list', '-o', 'json'], envWith({ NOVITA_API_URL: server.current().url, NOVITA_API_KEY: key.key }));
    assert.equal(withNewKey.code, 0, show(withNewKey));
    // The key the server wrote in its data folder, found through --data-dir.
    assert.equal((await sandcastle(['sandbox', 'list', '--data-dir', server.current().dataDir], envWith({ NOVITA_API_URL: server.current().url }))).code, 0);
    assert.equal((await ok(['keys', 'delete', key.id, '--data-dir', server.current().dataDir], noEnv)).trim(), `deleted API key ${key.id}`);
    const refused = await sandcastle(['sandbox', 'list'], envWith({ NOVITA_API_URL: server.current().url, NOVITA_API_KEY: key.key }));
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /401/);
  });
});
