// Routes for operators, in an app of their own beside the API's: GET /health without a key (load
// balancers), and GET /metrics in the Prometheus text format with the API key, as `X-API-KEY` or
// `Authorization: Bearer <key>` (what Prometheus's `authorization` scrape setting sends). Sandbox
// traffic never gets here: the server relays requests that carry the SDK's sandbox headers or a
// sandbox host name first (envd's own /health among them).
import { type Context, Hono } from 'hono';
import type { Logger } from '../log.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { ApiKeyStore } from '../store/api-key-store.js';
import { apiKeyCheck } from './api-key-check.js';
import type { HealthReport } from './health-check.js';
import { jsonApiApp } from './json-app.js';

export interface OpsEndpoints {
  health(): Promise<HealthReport>;
  prometheus: PrometheusMetrics;
}

const opsPaths = new Set(['/health', '/metrics']);

/** Whether a request target is one of these routes (any query string aside). */
export function isOpsPath(url: string | undefined): boolean {
  if (!url) return false;
  const q = url.indexOf('?');
  return opsPaths.has(q < 0 ? url : url.slice(0, q));
}

/** `keys` undefined: the server checks no keys (SANDCASTLE_AUTH=none), nor does /metrics. */
export function createOpsApp(ops: OpsEndpoints, keys: ApiKeyStore | undefined, log: Logger): Hono {
  const app = jsonApiApp(log);

  app.get('/health', async (c) => {
    const report = await ops.health();
    c.header('Cache-Control', 'no-store');
    return c.json(report, report.healthy ? 200 : 503);
  });

  const metrics = async (c: Context) => {
    const body = await ops.prometheus.scrape();
    return c.body(body, 200, { 'Content-Type': ops.prometheus.contentType, 'Cache-Control': 'no-store' });
  };
  if (keys) app.get('/metrics', apiKeyCheck(keys), metrics);
  else app.get('/metrics', metrics);
  return app;
}
