// The runc backend against the shared runtime contract, with the built-in `base` template.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { envdPort } from '../sandboxes/envd-client.js';
import { builtinRecipes, ensureTemplateRootfs } from '../templates/rootfs-builder.js';
import { NetworkRange } from './network-lease.js';
import { RuncRuntime } from './runc-runtime.js';
import { runtimeContract } from './runtime-contract.js';

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
    runtime: new RuncRuntime(config),
    layers: base.layers,
    healthPort: envdPort,
    network: new NetworkRange(config.networkCidr),
    scratchDir: path.join(dataDir, 'scratch'),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
