import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openDatabase } from './database.js';
import { SandboxStore } from './sandbox-store.js';
import { VolumeStore } from './volume-store.js';

function sandboxRow(store: SandboxStore, id: string): void {
  store.insert({
    id, templateId: 'base', alias: null, state: 'running', envdToken: 't', metadata: {}, envVars: {}, cpuCount: 1, memoryMB: 256,
    diskSizeMB: 1024, startedAt: 1, endAt: 2, autoPause: false, autoResume: false, allowInternetAccess: true, timeoutSeconds: 300,
    pausedAt: null, idleTimeoutSeconds: null, networkRules: null, layers: [], startCmd: null, networkIndex: 1,
  } as Parameters<SandboxStore['insert']>[0]);
}

it('keeps names unique, mounts only existing volumes, and refuses to delete a mounted one until its sandbox goes', () => {
  const db = openDatabase(':memory:');
  const volumes = new VolumeStore(db);
  const sandboxes = new SandboxStore(db);
  assert.equal(volumes.insert({ id: 'vol-a', name: 'data', token: 'tok', createdAt: 1 }), true);
  assert.equal(volumes.insert({ id: 'vol-b', name: 'data', token: 'tok2', createdAt: 2 }), false);
  assert.equal(volumes.byName('data')?.id, 'vol-a');

  sandboxRow(sandboxes, 's1');
  assert.equal(volumes.attach('s1', [{ volumeId: 'vol-gone', name: 'x', path: '/x' }]), false);
  assert.deepEqual(volumes.mountsOf('s1'), []);
  assert.equal(volumes.attach('s1', [{ volumeId: 'vol-a', name: 'data', path: '/mnt/data' }]), true);
  assert.deepEqual(volumes.mountsOf('s1'), [{ volumeId: 'vol-a', name: 'data', path: '/mnt/data' }]);

  assert.equal(volumes.delete('vol-a'), 'in-use');
  assert.deepEqual(volumes.users('vol-a'), { sandboxes: ['s1'], snapshots: [] });
  sandboxes.delete('s1');
  assert.deepEqual(volumes.mountsOf('s1'), []);
  assert.equal(volumes.delete('vol-a'), 'deleted');
  assert.equal(volumes.delete('vol-a'), 'missing');
  db.close();
});
