// The in-memory runtime against the same contract as runc (contract.case.ts), so tests that
// drive the lifecycle with it stand for what runc does.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkRange } from '../network/network-lease.js';
import { runtimeContract } from '../contract.case.js';
import { FakeRuntime } from './fake-runtime.js';

runtimeContract('fake', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-fake-'));
  const layer = path.join(dir, 'layer');
  mkdirSync(layer);
  const runtime = new FakeRuntime();
  return {
    runtime,
    layers: [layer],
    async waitReady(address, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!runtime.answers(address)) {
        if (Date.now() > deadline) throw new Error(`nothing answers at ${address}`);
        await sleep(1);
      }
    },
    network: new NetworkRange('10.250.0.0/16'),
    scratchDir: path.join(dir, 'scratch'),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
