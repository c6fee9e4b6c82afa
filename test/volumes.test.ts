// Volumes through the unmodified e2b SDK: `Volume` create/list/get/destroy, its content calls,
// and `volumeMounts` on create; a volume is shared by the sandboxes naming it and outlives them,
// pause/resume, forks and a server restart. Bad input: a taken name and a volume in use (409), an
// unknown volume at create (404, no sandbox left), paths that leave the volume (400).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Sandbox, Volume, VolumeError, VolumeNotFoundError, VolumePathNotFoundError } from 'e2b';
import { Sandbox as NovitaSandbox, Volume as NovitaVolume } from 'novita-sandbox';
import { apiFetch, startServerProcess, useTestServer } from './support/server-process.js';

const testServer = useTestServer();

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** The error `work` rejects with. */
async function failure(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the call to fail');
}

async function contentFetch(vol: Volume, pathname: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${testServer.current().url}/volumecontent/${vol.volumeId}${pathname}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${vol.token}` },
  });
}

describe('volumes', () => {
  before(() => {
    // The SDK reaches the content API here (it would otherwise use https://api.<domain>).
    process.env.E2B_VOLUME_API_URL = testServer.current().url;
  });

  it('are shared by the sandboxes mounting them and outlive pause, fork, a restart and the sandboxes', async () => {
    const name = unique('data');
    const vol = await Volume.create(name);
    const sandboxes: Sandbox[] = [];
    try {
      assert.ok((await Volume.list()).some((v) => v.volumeId === vol.volumeId && v.name === name));
      const info = await Volume.getInfo(vol.volumeId);
      assert.equal(info.name, name);
      assert.equal(info.token, vol.token);

      const a = await Sandbox.create({ volumeMounts: { '/mnt/data': vol } });
      sandboxes.push(a);
      const b = await Sandbox.create({ volumeMounts: { '/data': name } });
      sandboxes.push(b);
      assert.deepEqual((await a.getInfo()).volumeMounts, [{ name, path: '/mnt/data' }]);

      // `user` (envd's default) and root both write the volume's root.
      await a.files.write('/mnt/data/from-a.txt', 'hello from a');
      await b.commands.run('echo from root > /data/root.txt', { user: 'root' });
      assert.equal(await b.files.read('/data/from-a.txt'), 'hello from a');
      assert.equal((await a.commands.run('cat /mnt/data/root.txt')).stdout, 'from root\n');
      assert.equal((await a.commands.run('stat -c %U /mnt/data/from-a.txt')).stdout.trim(), 'user');

      // The SDK's content calls.
      assert.equal(await vol.readFile('/from-a.txt'), 'hello from a');
      const written = await vol.writeFile('/api/written.txt', 'via the API\n');
      assert.equal(written.size, 'via the API\n'.length);
      assert.equal(written.type, 'file');
      assert.equal(await a.files.read('/mnt/data/api/written.txt'), 'via the API\n');
      // What the API makes belongs to `user` inside, who may change it.
      assert.equal((await a.commands.run('stat -c %U:%G /mnt/data/api /mnt/data/api/written.txt')).stdout, 'user:user\nuser:user\n');
      await a.commands.run('echo appended >> /mnt/data/api/written.txt');
      assert.equal(await vol.readFile('/api/written.txt'), 'via the API\nappended\n');
      const bytes = await vol.readFile('/from-a.txt', { format: 'bytes' });
      assert.equal(Buffer.from(bytes).toString(), 'hello from a');
      const entries = await vol.list('/');
      assert.deepEqual(entries.map((e) => e.name).sort(), ['api', 'from-a.txt', 'root.txt']);
      const stat = await vol.getInfo('/api');
      assert.equal(stat.type, 'directory');
      assert.equal(stat.uid, 1000);
      await vol.makeDir('/made/deep', { force: true });
      assert.equal(await vol.exists('/made/deep'), true);
      assert.equal((await a.commands.run('test -d /mnt/data/made/deep')).exitCode, 0);
      await vol.updateMetadata('/api/written.txt', { mode: 0o600 });
      assert.equal((await a.commands.run('stat -c %a /mnt/data/api/written.txt')).stdout.trim(), '600');
      await vol.remove('/made');
      assert.equal(await vol.exists('/made'), false);
      assert.ok((await failure(vol.readFile('/nothing'))) instanceof VolumePathNotFoundError);

      // Deleting a volume in use: 409, and it stays.
      const inUse = await failure(Volume.destroy(vol.volumeId));
      assert.ok(inUse instanceof VolumeError && /409/.test(inUse.message), String(inUse));
      const raw = await apiFetch(testServer.current(), `/volumes/${vol.volumeId}`, { method: 'DELETE' });
      assert.equal(raw.status, 409);
      const body = (await raw.json()) as { code: number; message: string };
      assert.equal(body.code, 409);
      assert.match(body.message, new RegExp(a.sandboxId));

      // Pause and resume keep the mount.
      await a.pause();
      await b.files.write('/data/while-paused.txt', 'written while a was paused');
      await a.connect();
      assert.equal(await a.files.read('/mnt/data/while-paused.txt'), 'written while a was paused');
      await a.files.write('/mnt/data/after-resume.txt', 'after resume');
      assert.equal(await b.files.read('/data/after-resume.txt'), 'after resume');

      // A fork mounts the same volume.
      const [fork] = await a.fork();
      assert.ok(fork instanceof Sandbox, `fork failed: ${String(fork)}`);
      sandboxes.push(fork);
      await fork.files.write('/mnt/data/from-fork.txt', 'fork');
      assert.equal(await vol.readFile('/from-fork.txt'), 'fork');

      // A server restart: running sandboxes keep their mount; the volume and its token stay.
      const old = testServer.current();
      await old.stop();
      testServer.replace(await startServerProcess({ dataDir: old.dataDir, env: { ...old.env, SANDCASTLE_PORT: new URL(old.url).port } }));
      assert.equal(await vol.readFile('/after-resume.txt'), 'after resume');
      await b.files.write('/data/after-restart.txt', 'after restart');
      assert.equal(await a.files.read('/mnt/data/after-restart.txt'), 'after restart');

      await Promise.all(sandboxes.splice(0).map((s) => s.kill()));
      assert.equal(await vol.readFile('/from-a.txt'), 'hello from a', 'the content outlives the sandboxes');
      assert.equal(await vol.readFile('/after-restart.txt'), 'after restart');
    } finally {
      await Promise.all(sandboxes.map((s) => s.kill()));
      await Volume.destroy(vol.volumeId);
    }
    assert.ok((await failure(Volume.getInfo(vol.volumeId))) instanceof VolumeNotFoundError);
    assert.equal(await Volume.destroy(vol.volumeId), false);
  });

  it('a taken name is a 409 with the SDK error body', async () => {
    const name = unique('taken');
    const vol = await Volume.create(name);
    try {
      const err = await failure(Volume.create(name));
      assert.ok(err instanceof VolumeError && /409/.test(err.message), String(err));
      const raw = await apiFetch(testServer.current(), '/volumes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      assert.equal(raw.status, 409);
      const body = (await raw.json()) as { code: number; message: string };
      assert.equal(body.code, 409);
      assert.match(body.message, /taken/);
    } finally {
      await Volume.destroy(vol.volumeId);
    }
  });

  it('an unknown volume at create is a 404 and leaves no sandbox', async () => {
    const err = await failure(Sandbox.create({ volumeMounts: { '/mnt/x': unique('missing') } }));
    assert.match(err.message, /404/);
    assert.deepEqual(await Sandbox.list().nextItems(), []);
  });

  it('paths that leave the volume are a 400, through the SDK and on the wire; a wrong token a 401', async () => {
    const vol = await Volume.create(unique('escape'));
    const sbx = await Sandbox.create({ volumeMounts: { '/vol': vol } });
    try {
      // Symlinks a sandbox makes: to its own /etc (absolute), and one climbing out relatively.
      await sbx.commands.run('ln -s /etc /vol/etc-link && ln -s ../../../../etc /vol/climb && mkdir /vol/d && ln -s ../d /vol/d/ok-link');
      for (const p of ['/etc-link/passwd', '/climb/passwd', '/../../etc/passwd']) {
        const err = await failure(vol.readFile(p));
        assert.ok(err instanceof VolumeError && /400/.test(err.message), `${p}: ${String(err)}`);
        const write = await failure(vol.writeFile(p, 'x'));
        assert.ok(/400/.test(write.message), `${p}: ${String(write)}`);
      }
      assert.equal((await contentFetch(vol, `/file?path=${encodeURIComponent('/../x')}`)).status, 400);
      assert.equal((await contentFetch(vol, `/dir?path=${encodeURIComponent('/etc-link')}`)).status, 400);
      const link = await vol.getInfo('/etc-link');
      assert.equal(link.type, 'symlink');
      assert.equal(link.target, '/etc');
      // A relative symlink inside the volume is followed.
      await vol.writeFile('/d/f.txt', 'inside');
      assert.equal(await vol.readFile('/d/ok-link/f.txt'), 'inside');
      const bad = await fetch(`${testServer.current().url}/volumecontent/${vol.volumeId}/file?path=/d/f.txt`, { headers: { Authorization: 'Bearer wrong' } });
      assert.equal(bad.status, 401);
    } finally {
      await sbx.kill();
      await Volume.destroy(vol.volumeId);
    }
  });

  it("a snapshot keeps its source's volumes: its sandboxes mount them, and the volume stays while it lives", async () => {
    const name = unique('snap');
    const vol = await Volume.create(name);
    const src = await Sandbox.create({ volumeMounts: { '/mnt/v': vol } });
    const made: Sandbox[] = [];
    let snapshotId: string | undefined;
    try {
      await src.files.write('/mnt/v/before.txt', 'before the snapshot');
      snapshotId = (await src.createSnapshot()).snapshotId;
      const other = await Volume.create(unique('other'));
      const wrong = await failure(Sandbox.create(snapshotId, { volumeMounts: { '/mnt/v': other } }));
      assert.match(wrong.message, /400: .*mounts the volumes its source did/);
      await Volume.destroy(other.volumeId);
      const fromSnapshot = await Sandbox.create(snapshotId);
      made.push(fromSnapshot);
      assert.equal(await fromSnapshot.files.read('/mnt/v/before.txt'), 'before the snapshot');
      await fromSnapshot.files.write('/mnt/v/from-snapshot.txt', 'shared');
      assert.equal(await src.files.read('/mnt/v/from-snapshot.txt'), 'shared');
      // The same mounts, named: accepted.
      made.push(await Sandbox.create(snapshotId, { volumeMounts: { '/mnt/v': name } }));
      await Promise.all([src, ...made.splice(0)].map((s) => s.kill()));
      const held = await failure(Volume.destroy(vol.volumeId));
      assert.match(held.message, new RegExp(`409: .*snapshot\\(s\\) ${snapshotId}`));
    } finally {
      await Promise.all([src, ...made].map((s) => s.kill()));
      if (snapshotId) await Sandbox.deleteSnapshot(snapshotId);
    }
    assert.equal(await Volume.destroy(vol.volumeId), true);
  });

  it("novita-sandbox's Volume and volumeMounts reach the same volumes", async () => {
    const name = unique('novita');
    const vol = await NovitaVolume.create(name);
    const sbx = await NovitaSandbox.create({ volumeMounts: { '/mnt/novita': vol } });
    try {
      assert.ok((await NovitaVolume.list()).some((v) => v.volumeId === vol.volumeId && v.name === name));
      assert.equal((await NovitaVolume.getInfo(vol.volumeId)).token, vol.token);
      await sbx.files.write('/mnt/novita/n.txt', 'from novita');
      const e2bVolume = await Volume.connect(vol.volumeId);
      assert.equal(await e2bVolume.readFile('/n.txt'), 'from novita');
      const quota = await failure(NovitaVolume.updateQuota(vol.volumeId, { quotaSizeGiB: 1 }));
      assert.match(quota.message, /501/);
    } finally {
      await sbx.kill();
    }
    assert.equal(await NovitaVolume.destroy(vol.volumeId), true);
  });
});
