import { Code, ConnectError } from '@connectrpc/connect';
import assert from 'node:assert/strict';
import { appendFile, chmod, chown, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventType, FileType } from '../gen/envd/filesystem_pb.js';
import { startEnvd, userUid, type Envd } from '../test-harness.js';

let envd: Envd;
let root: string;
before(async () => {
  envd = await startEnvd();
  root = path.join(envd.dir, 'fs');
  await mkdir(path.join(root, 'a', 'b', 'c'), { recursive: true });
  await writeFile(path.join(root, 'top.txt'), 'hello');
  await writeFile(path.join(root, 'a', 'mid.txt'), 'x');
  await writeFile(path.join(root, 'a', 'b', 'deep.txt'), 'y');
  await symlink(path.join(root, 'a'), path.join(root, 'link-to-dir'));
  await symlink(path.join(root, 'top.txt'), path.join(root, 'link-to-file'));
});
after(async () => {
  await envd.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (expected: Code) => (err: ConnectError) => {
  assert.equal(err.code, expected, err.message);
  return true;
};

describe('Stat', () => {
  test('reports a file the way the SDK decodes it', async () => {
    await chmod(path.join(root, 'top.txt'), 0o640);
    const { entry } = await envd.filesystem.stat({ path: path.join(root, 'top.txt') });
    assert.equal(entry?.name, 'top.txt');
    assert.equal(entry?.type, FileType.FILE);
    assert.equal(entry?.path, path.join(root, 'top.txt'));
    assert.equal(entry?.size, 5n);
    assert.equal(entry?.mode, 0o640);
    assert.equal(entry?.permissions, '-rw-r-----');
    assert.equal(entry?.owner, 'root');
    assert.equal(entry?.group, 'root');
    const st = await stat(path.join(root, 'top.txt'));
    assert.equal(Number(entry?.modifiedTime?.seconds), Math.floor(st.mtimeMs / 1000));
    assert.equal(entry?.symlinkTarget, undefined);
  });

  test('directories and symlinks (reported as their target, with symlinkTarget)', async () => {
    const dir = (await envd.filesystem.stat({ path: path.join(root, 'a') })).entry;
    assert.equal(dir?.type, FileType.DIRECTORY);
    assert.match(dir!.permissions, /^drwx/);
    const link = (await envd.filesystem.stat({ path: path.join(root, 'link-to-dir') })).entry;
    assert.equal(link?.type, FileType.DIRECTORY);
    assert.equal(link?.symlinkTarget, path.join(root, 'a'));
  });

  test('relative paths and ~ belong to the user; a missing path is not_found naming it', async () => {
    await writeFile(path.join(envd.home, 'in-home.txt'), '1');
    assert.equal((await envd.filesystem.stat({ path: 'in-home.txt' })).entry?.path, path.join(envd.home, 'in-home.txt'));
    assert.equal((await envd.filesystem.stat({ path: '~/in-home.txt' })).entry?.path, path.join(envd.home, 'in-home.txt'));
    await assert.rejects(envd.filesystem.stat({ path: '/nope/missing' }), (err: ConnectError) => {
      assert.equal(err.code, Code.NotFound);
      assert.match(err.message, /\/nope\/missing/);
      return true;
    });
  });
});

test('a user added between two requests (useradd in a command) is known to the next one', async () => {
  const file = path.join(envd.dir, 'owned-by-newcomer.txt');
  await writeFile(file, 'n');
  await chown(file, 5151, 5151);
  assert.equal((await envd.filesystem.stat({ path: file })).entry?.owner, '5151', 'no such user yet: its number');
  await appendFile(path.join(envd.dir, 'passwd'), 'newcomer:x:5151:5151::/tmp:/bin/sh\n');
  await appendFile(path.join(envd.dir, 'group'), 'newcomers:x:5151:\n');
  const asNewcomer = envd.clients({ user: 'newcomer' }).filesystem;
  const { entry } = await asNewcomer.stat({ path: file });
  assert.deepEqual([entry?.owner, entry?.group], ['newcomer', 'newcomers']);
});

describe('ListDir', () => {
  test('depth 1 lists the directory itself only', async () => {
    const { entries } = await envd.filesystem.listDir({ path: root, depth: 1 });
    assert.deepEqual(entries.map((e) => e.name).sort(), ['a', 'link-to-dir', 'link-to-file', 'top.txt']);
    const linkToFile = entries.find((e) => e.name === 'link-to-file');
    assert.equal(linkToFile?.type, FileType.FILE);
    assert.equal(linkToFile?.symlinkTarget, path.join(root, 'top.txt'));
  });

  test('deeper levels are included down to depth, without entering symlinks', async () => {
    const { entries } = await envd.filesystem.listDir({ path: root, depth: 2 });
    const paths = entries.map((e) => path.relative(root, e.path)).sort();
    assert.deepEqual(paths, ['a', 'a/b', 'a/mid.txt', 'link-to-dir', 'link-to-file', 'top.txt']);
    const all = await envd.filesystem.listDir({ path: root, depth: 10 });
    assert.ok(all.entries.some((e) => e.path === path.join(root, 'a', 'b', 'c')));
    assert.ok(!all.entries.some((e) => e.path.startsWith(path.join(root, 'link-to-dir') + '/')));
  });

  test('a file is invalid_argument, a missing dir not_found', async () => {
    await assert.rejects(envd.filesystem.listDir({ path: path.join(root, 'top.txt'), depth: 1 }), code(Code.InvalidArgument));
    await assert.rejects(envd.filesystem.listDir({ path: path.join(root, 'missing'), depth: 1 }), code(Code.NotFound));
  });
});

describe('MakeDir, Move, Remove', () => {
  test('MakeDir creates parents owned by the user; again is already_exists', async () => {
    const target = path.join(root, 'made', 'x', 'y');
    const { entry } = await envd.filesystem.makeDir({ path: target });
    assert.equal(entry?.type, FileType.DIRECTORY);
    assert.equal(entry?.path, target);
    assert.equal((await stat(target)).uid, userUid);
    assert.equal((await stat(path.join(root, 'made'))).uid, userUid);
    assert.equal((await stat(root)).uid, 0, 'existing parents are left alone');
    await assert.rejects(envd.filesystem.makeDir({ path: target }), code(Code.AlreadyExists));
    await assert.rejects(envd.filesystem.makeDir({ path: path.join(root, 'top.txt') }), code(Code.InvalidArgument));
    await assert.rejects(envd.filesystem.makeDir({ path: path.join(root, 'top.txt', 'sub') }), code(Code.InvalidArgument));
  });

  test('Move renames, creating the destination parents, and answers with the new entry', async () => {
    await writeFile(path.join(root, 'moving.txt'), 'move me');
    const { entry } = await envd.filesystem.move({ source: path.join(root, 'moving.txt'), destination: path.join(root, 'moved', 'here.txt') });
    assert.equal(entry?.path, path.join(root, 'moved', 'here.txt'));
    assert.equal(entry?.name, 'here.txt');
    assert.equal(entry?.size, 7n);
    await assert.rejects(stat(path.join(root, 'moving.txt')));
    await assert.rejects(envd.filesystem.move({ source: path.join(root, 'ghost'), destination: path.join(root, 'g2') }), code(Code.NotFound));
  });

  test('Remove deletes recursively; a missing path is removed already (no error, as the SDK expects)', async () => {
    await mkdir(path.join(root, 'doomed', 'inner'), { recursive: true });
    await writeFile(path.join(root, 'doomed', 'inner', 'f'), '');
    await envd.filesystem.remove({ path: path.join(root, 'doomed') });
    await assert.rejects(stat(path.join(root, 'doomed')));
    await envd.filesystem.remove({ path: path.join(root, 'doomed') });
  });
});

describe('watching', () => {
  test('WatchDir: start first, then create/write/remove events named relative to the dir', async () => {
    const dir = path.join(root, 'watched');
    await mkdir(dir);
    const abort = new AbortController();
    const stream = envd.filesystem.watchDir({ path: dir, recursive: false }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    assert.equal(first.value?.event.case, 'start');
    const seen: string[] = [];
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await stream.next();
          if (done) return;
          if (value.event.case === 'filesystem') seen.push(`${EventType[value.event.value.type]} ${value.event.value.name}`);
        }
      } catch {
        // Aborted at the end of the test.
      }
    })();
    await writeFile(path.join(dir, 'new.txt'), 'a');
    await sleep(100);
    await appendFile(path.join(dir, 'new.txt'), 'b');
    await sleep(100);
    await chmod(path.join(dir, 'new.txt'), 0o600);
    await sleep(100);
    await rm(path.join(dir, 'new.txt'));
    await sleep(300);
    abort.abort();
    await reading;
    assert.equal(seen[0], 'CREATE new.txt');
    assert.ok(seen.includes('WRITE new.txt'), seen.join(', '));
    assert.ok(seen.includes('CHMOD new.txt'), seen.join(', '));
    assert.equal(seen.at(-1), 'REMOVE new.txt');
  });

  test('recursive WatchDir follows new subdirectories; a missing dir is not_found', async () => {
    const dir = path.join(root, 'watched-rec');
    await mkdir(path.join(dir, 'old'), { recursive: true });
    const abort = new AbortController();
    const stream = envd.filesystem.watchDir({ path: dir, recursive: true }, { signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await stream.next()).value?.event.case, 'start');
    const names = new Set<string>();
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await stream.next();
          if (done) return;
          if (value.event.case === 'filesystem') names.add(`${EventType[value.event.value.type]} ${value.event.value.name}`);
        }
      } catch {
        // Aborted.
      }
    })();
    await sleep(100);
    await writeFile(path.join(dir, 'old', 'f1'), '1');
    await mkdir(path.join(dir, 'new'));
    await sleep(200);
    await writeFile(path.join(dir, 'new', 'f2'), '2');
    await sleep(300);
    abort.abort();
    await reading;
    for (const expected of ['CREATE old/f1', 'CREATE new', 'CREATE new/f2']) assert.ok(names.has(expected), `${expected} in ${[...names]}`);
    await assert.rejects(
      (async () => {
        for await (const _ of envd.filesystem.watchDir({ path: path.join(root, 'no-such-dir') })) break;
      })(),
      code(Code.NotFound),
    );
  });

  test('polling watcher: create, collect events, remove', async () => {
    const dir = path.join(root, 'polled');
    await mkdir(dir);
    const { watcherId } = await envd.filesystem.createWatcher({ path: dir, recursive: false });
    await writeFile(path.join(dir, 'p.txt'), 'x');
    await sleep(300);
    const { events } = await envd.filesystem.getWatcherEvents({ watcherId });
    assert.equal(events[0]?.name, 'p.txt');
    assert.equal(events[0]?.type, EventType.CREATE);
    assert.equal((await envd.filesystem.getWatcherEvents({ watcherId })).events.length, 0, 'events are handed out once');
    await envd.filesystem.removeWatcher({ watcherId });
    await assert.rejects(envd.filesystem.getWatcherEvents({ watcherId }), code(Code.NotFound));
  });
});
