// Puts the pieces together: store, runtime, lifecycle service, API and proxy on one HTTP port.
import { getRequestListener } from '@hono/node-server';
import http from 'node:http';
import path from 'node:path';
import { createApiApp } from './api/app.js';
import type { Config } from './config.js';
import { MetricsSampler } from './metrics/sampler.js';
import { SandboxProxy, sandboxIdOf } from './proxy/sandbox-proxy.js';
import { NetworkRange } from './runtime/network-lease.js';
import { RuncRuntime } from './runtime/runc-runtime.js';
import { SandboxService } from './sandboxes/sandbox-service.js';
import { openDatabase } from './store/database.js';
import { MetricsStore } from './store/metrics-store.js';
import { SandboxStore } from './store/sandbox-store.js';
import { TemplateStore } from './store/template-store.js';
import { registerBuiltinTemplates } from './templates/builtin-templates.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const db = openDatabase(path.join(config.dataDir, 'sandcastle.db'));
  const templates = new TemplateStore(db);
  await registerBuiltinTemplates(config, templates);
  const runtime = new RuncRuntime(config);
  const sandboxes = new SandboxService(config, new SandboxStore(db), templates, runtime, new NetworkRange(config.networkCidr));
  const recovered = await sandboxes.recover();
  if (recovered.adopted || recovered.removed) {
    console.log(`recovered ${recovered.adopted} running sandbox(es), removed ${recovered.removed} leftover(s)`);
  }

  const metrics = new MetricsStore(db);
  const sampler = new MetricsSampler(sandboxes, runtime, metrics, { intervalMs: config.metricsIntervalMs });
  sampler.start();

  const proxy = new SandboxProxy(sandboxes);
  const api = getRequestListener(createApiApp(config, sandboxes, metrics).fetch);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const sandboxId = sandboxIdOf(req);
    if (sandboxId !== undefined) proxy.handle(req, res, sandboxId);
    else void api(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    url: `http://${config.host}:${port}`,
    async close() {
      sampler.stop();
      sandboxes.close();
      proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
