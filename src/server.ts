// Puts the pieces together: store, runtime, lifecycle service, API and proxy on one HTTP port.
import { getRequestListener } from '@hono/node-server';
import http from 'node:http';
import { createApiApp } from './api/app.js';
import { cachedHealth, checkHealth } from './api/health-check.js';
import { createOpsApp, isOpsPath } from './api/ops-routes.js';
import { ApiKeyStore, ensureFirstApiKey } from './store/api-key-store.js';
import { dataFiles, installDir, type Config } from './config.js';
import { createConsoleApp } from './console/console-app.js';
import { isConsolePath } from './console/console-routes.js';
import path from 'node:path';
import type { Logger } from './log.js';
import { MetricsSampler } from './metrics/sampler.js';
import { serverPrometheus } from './metrics/prometheus-sources.js';
import { routeForHost } from './proxy/host-route.js';
import { startListeners, type Listeners } from './proxy/listeners.js';
import { lingerWhileBodiesArrive } from './lingering-close.js';
import { PublicAccess } from './proxy/public-access.js';
import { PublicProxy } from './proxy/public-proxy.js';
import { addFigures, noRelayFigures } from './metrics/prometheus-hooks.js';
import { portOf, relayingServerOptions, SandboxProxy, sandboxIdOf } from './proxy/sandbox-proxy.js';
import { loadTlsMaterial } from './proxy/tls-material.js';
import { NetworkRange } from './runtime/network/network-lease.js';
import { RuncRuntime } from './runtime/runc/runc-runtime.js';
import { SandboxService } from './sandboxes/sandbox-service.js';
import { openDatabase } from './store/database.js';
import { PublicAccessStore } from './store/public-access-store.js';
import { MetricsStore } from './store/metrics-store.js';
import { BootStateStore } from './store/boot-state-store.js';
import { OperationStore } from './store/operation-store.js';
import { SnapshotStore } from './store/snapshot-store.js';
import { SandboxStore } from './store/sandbox-store.js';
import { ServerSettingsStore } from './store/server-settings-store.js';
import { keepNetworkRange } from './sandboxes/network-range-guard.js';
import { TemplateStore } from './store/template-store.js';
import { registerBuiltinTemplates } from './templates/builtin-templates.js';
import { type PullImage, TemplateBuilds } from './templates/build/template-builds.js';
import { pullImage } from './templates/oci/pull-image.js';
import { TemplateBuildStore } from './store/template-build-store.js';
import { VolumeStore } from './store/volume-store.js';
import { VolumeService } from './volumes/volume-service.js';
import { VolumeStorage } from './volumes/volume-storage.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const files = dataFiles(config.dataDir);
  const db = openDatabase(files.database);
  const sandboxStore = new SandboxStore(db);
  const network = new NetworkRange(config.networkCidr);
  keepNetworkRange(new ServerSettingsStore(db), sandboxStore.countAll(), network, config.dataDir);
  const templates = new TemplateStore(db);
  await registerBuiltinTemplates(config, templates, log);
  const runtime = new RuncRuntime(config, log.child({ component: 'runtime' }));
  const volumes = new VolumeService(new VolumeStore(db), new VolumeStorage(files.volumes, config.userns), log);
  await volumes.reconcile();
  log.info(await runtime.checkHost());
  // Builds need the sandbox service, and a create resolves `name:tag` through the builds.
  let builds: TemplateBuilds | undefined;
  const sandboxes = new SandboxService({
    resolveTemplate: (ref) => builds?.resolve(ref) ?? templates.find(ref),
    config,
    store: sandboxStore,
    operations: new OperationStore(db),
    templates,
    snapshots: new SnapshotStore(db),
    bootStates: new BootStateStore(db),
    runtime,
    network,
    log,
    volumes,
  });
  const recovered = await sandboxes.recover();
  if (recovered.running || recovered.paused || recovered.removed || recovered.operations) {
    log.info(recovered, `recovered ${recovered.running} running and ${recovered.paused} paused sandbox(es), removed ${recovered.removed} leftover(s), settled ${recovered.operations} interrupted operation(s)`);
  }

  const pull: PullImage = (ref, opts) => pullImage(ref, {
    ...opts, layersDir: files.layers, imagesDir: files.images, userns: config.userns,
    registryMirrors: config.registryMirrors, insecureRegistries: config.insecureRegistries,
  });
  const prometheus = serverPrometheus(db, config, sandboxes, () => ({
    api: { figures: () => addFigures(proxy.relays.figures(), listeners?.figures('api') ?? noRelayFigures) },
    public: { figures: () => addFigures(publicProxy.relays.figures(), listeners?.figures('public') ?? noRelayFigures) },
  }));
  builds = new TemplateBuilds(config, templates, new TemplateBuildStore(db), sandboxes, pull, log, (outcome, seconds) => prometheus.build(outcome, seconds));
  const cutShort = await builds.recover();
  if (cutShort) log.warn(`${cutShort} template build(s) were cut short by a restart and marked failed`);

  const metrics = new MetricsStore(db);
  const sampler = new MetricsSampler(sandboxes, runtime, metrics, { intervalMs: config.metricsIntervalMs }, log);
  sampler.start();

  const publicAccess = new PublicAccess(new PublicAccessStore(db));
  const proxy = new SandboxProxy(sandboxes, publicAccess);
  const publicProxy = new PublicProxy(config, sandboxes, publicAccess);
  const material = config.httpsPort > 0 ? await loadTlsMaterial(config) : undefined;
  // Sandbox traffic on the API port: named by the SDK's headers, or by a sandbox host name.
  const sandboxTarget = (req: http.IncomingMessage) => {
    const sandboxId = sandboxIdOf(req);
    if (sandboxId !== undefined) return { sandboxId, port: portOf(req) };
    const route = routeForHost(req.headers.host, config.domain);
    return route.kind === 'sandbox' ? route : undefined;
  };
  const keys = config.auth === 'keys' ? new ApiKeyStore(db) : undefined;
  if (keys && (await ensureFirstApiKey(keys, files.apiKey))) {
    log.info({ file: files.apiKey }, `made an API key for this server: export NOVITA_API_KEY=$(cat ${files.apiKey})`);
  }
  const apiApp = createApiApp(sandboxes, metrics, keys, log, builds, volumes, publicAccess);
  const api = getRequestListener(apiApp.fetch);
  const webConsole = createConsoleApp({ api: apiApp.fetch, keys, sandboxes, metrics, assetsDir: path.join(installDir, 'dist', 'console'), log });
  const consoleListener = getRequestListener(webConsole.app.fetch);
  // `https://{domain}/` has nothing but the console.
  publicProxy.serveConsole((req, res) => (isConsolePath(req.url) ? void consoleListener(req, res) : res.writeHead(302, { location: '/dashboard' }).end()));
  // Assigned once the listeners run; a request can reach the server before (it listens first).
  let listeners: Listeners | undefined;
  const dataPlane = { pid: () => listeners?.dataPlanePid() };
  const health = cachedHealth(() => checkHealth({ runtime, db, dataDir: config.dataDir, minFreeDiskMB: config.minFreeDiskMB, dataPlane: listeners?.behindHaproxy ? dataPlane : undefined }));
  const ops = getRequestListener(createOpsApp({ health, prometheus }, keys, log).fetch);
  const server = http.createServer(relayingServerOptions, (req, res) => {
    const target = sandboxTarget(req);
    if (target) proxy.handle(req, res, target.sandboxId, target.port);
    else if (isOpsPath(req.url)) void ops(req, res);
    else if (isConsolePath(req.url)) void consoleListener(req, res);
    else if (!proxy.handleSignedFiles(req, res)) void api(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const target = sandboxTarget(req);
    if (target) proxy.upgrade(req, socket, head, target.sandboxId, target.port);
    else socket.destroy();
  });
  // HAProxy, when it holds the API port, asks Node to close after every answer.
  lingerWhileBodiesArrive(server);
  publicProxy.serveApi(server);
  listeners = await startListeners({ config, proxy: publicProxy, material, sandboxes, access: publicAccess, log, api: server, apiProxy: proxy });
  if (listeners.urls.length > 0) {
    log.info({ urls: listeners.urls }, `sandbox ports served at ${listeners.urls.join(', ')} as <port>-<sandboxId>.${config.domain}`);
  }
  // Fast create: each template's saved boot state, taken in the background after start.
  void sandboxes.prepareFastCreate();
  return {
    url: `http://${config.host}:${listeners.apiPort}`,
    async close() {
      await sandboxes.stopPreparing();
      sampler.stop();
      await webConsole.close();
      await builds!.close();
      await sandboxes.close();
      proxy.close();
      publicProxy.close();
      await listeners.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
