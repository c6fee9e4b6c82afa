import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openDatabase } from './database.js';
import { type SandboxState, SandboxStore } from './sandbox-store.js';

function insert(store: SandboxStore, id: string, state: SandboxState, cpuCount: number): void {
  store.insert({
    id, templateId: 'base', alias: null, state, envdToken: 't', metadata: { k: 'v' }, envVars: {}, cpuCount, memoryMB: 256,
    diskSizeMB: 512 * cpuCount, startedAt: 1000 + cpuCount, endAt: 2, autoPause: false, autoResume: false, allowInternetAccess: true,
    timeoutSeconds: 300, pausedAt: null, idleTimeoutSeconds: null, networkRules: null, layers: [], startCmd: null, networkIndex: cpuCount,
  } as Parameters<SandboxStore['insert']>[0]);
}

it('sizes of running sandboxes cover the running and resuming ones, and only those', () => {
  const store = new SandboxStore(openDatabase(':memory:'));
  const states: SandboxState[] = ['starting', 'running', 'pausing', 'paused', 'resuming', 'killing', 'pooled'];
  states.forEach((state, i) => insert(store, `s-${state}`, state, i + 1));
  const sizes = store.sizesOfRunning().sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(sizes, [
    { id: 's-resuming', cpuCount: 5, diskSizeMB: 2560, startedAt: 1005 },
    { id: 's-running', cpuCount: 2, diskSizeMB: 1024, startedAt: 1002 },
  ]);
});
