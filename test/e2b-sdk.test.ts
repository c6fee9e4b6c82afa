// The e2b SDK, unmodified, for what it does differently: `POST /v2/sandboxes` with a chunked
// body, `/v2/.../connect`, E2b-* routing headers, and list paging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandExitError, Sandbox } from 'e2b';
import { Sandbox as NovitaSandbox } from 'novita-sandbox';
import { useTestServer } from './support/server-process.js';


useTestServer();

describe('e2b SDK', () => {
  it('creates, runs commands, writes and reads files, connects, lists and kills', async () => {
    const sbx = await Sandbox.create({ envs: { FROM: 'e2b' }, metadata: { sdk: 'e2b' } });
    try {
      const r = await sbx.commands.run('echo $FROM $E2B_SANDBOX_ID');
      assert.equal(r.stdout, `e2b ${sbx.sandboxId}\n`);
      await assert.rejects(sbx.commands.run('exit 7'), (e: unknown) => e instanceof CommandExitError && e.exitCode === 7);

      await sbx.files.write('/home/user/e2b.txt', 'written by e2b');
      assert.equal(await sbx.files.read('/home/user/e2b.txt'), 'written by e2b');
      const entries = await sbx.files.list('/home/user');
      assert.ok(entries.some((e) => e.name === 'e2b.txt' && e.type === 'file'));

      const again = await Sandbox.connect(sbx.sandboxId);
      assert.equal((await again.commands.run('cat /home/user/e2b.txt')).stdout, 'written by e2b');

      const listed = await Sandbox.list({ query: { metadata: { sdk: 'e2b' } } }).nextItems();
      assert.deepEqual(listed.map((s) => s.sandboxId), [sbx.sandboxId]);
      assert.equal(listed[0]!.state, 'running');
    } finally {
      await sbx.kill();
    }
    assert.equal(await Sandbox.kill(sbx.sandboxId), false);
  });
});

describe('list paging and filters', () => {
  it('pages through sandboxes newest first with limit and nextToken, and ANDs metadata filters', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await NovitaSandbox.create({ metadata: { batch: 'paging', n: String(i), odd: String(i % 2 === 1), 'k y': 'v&1' } }));
    }
    try {
      const paginator = NovitaSandbox.list({ limit: 2, query: { metadata: { batch: 'paging' } } });
      const pages: string[][] = [];
      while (paginator.hasNext) pages.push((await paginator.nextItems()).map((s) => s.metadata.n!));
      assert.deepEqual(pages, [['4', '3'], ['2', '1'], ['0']]);

      const odd = await NovitaSandbox.list({ query: { metadata: { batch: 'paging', odd: 'true', 'k y': 'v&1' } } }).nextItems();
      assert.deepEqual(odd.map((s) => s.metadata.n), ['3', '1']);
      const none = await NovitaSandbox.list({ query: { metadata: { batch: 'paging', 'k y': 'v&2' } } }).nextItems();
      assert.deepEqual(none, []);
      const paused = await NovitaSandbox.list({ query: { state: ['paused'] } }).nextItems();
      assert.deepEqual(paused, []);
    } finally {
      await Promise.all(made.map((s) => s.kill()));
    }
  });
});
