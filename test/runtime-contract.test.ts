// The runc backend against the shared runtime contract (src/runtime/contract.case.ts), with
// real sandboxes of the built-in `base` template: its main program is envd.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { envdPort } from '../src/protocol.js';
import { waitForHealth } from '../src/sandboxes/envd-client.js';
import { NetworkRange } from '../src/runtime/network/network-lease.js';
import { RuncRuntime } from '../src/runtime/runc/runc-runtime.js';
import { runtimeContract } from '../src/runtime/contract.case.js';
import { builtinRecipes, ensureTemplateRootfs } from '../src/templates/rootfs-builder.js';

runtimeContract('runc', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-runtime-'));
  const config = loadConfig({
    dataDir,
    templatesDir: process.env.SANDCASTLE_TEMPLATES_DIR ?? '/var/lib/sandcastle/templates',
    runcRoot: path.join(dataDir, 'runc'),
    // Apart from the ranges of servers other tests run at the same time.
    networkCidr: `10.${192 + Math.floor(Math.random() * 32)}.0.0/16`,
  });
  const base = await ensureTemplateRootfs(config, 'base', builtinRecipes.base!);
  return {
    runtime: new RuncRuntime(config, pino({ level: 'warn' }, pino.destination(2))),
    layers: base.layers,
    waitReady: (address, timeoutMs) => waitForHealth(address, envdPort, timeoutMs),
    network: new NetworkRange(config.networkCidr),
    scratchDir: path.join(dataDir, 'scratch'),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
