// GET /sandboxes/{id}/metrics (protocol §3.2, `SandboxMetric` §3.4): the samples the metrics
// sampler stored, optionally between `start` and `end` (unix seconds, inclusive).
import type { Hono } from 'hono';
import { errors } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { MetricSample, MetricsStore } from '../store/metrics-store.js';

function unixSeconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw errors.badRequest(`${name} must be a unix time in seconds, got '${value}'`);
  return n;
}

export function sandboxMetricJson(s: MetricSample) {
  return {
    timestamp: new Date(s.at).toISOString(),
    timestampUnix: Math.floor(s.at / 1000),
    cpuCount: s.cpuCount,
    cpuUsedPct: Math.round(s.cpuUsedPct * 100) / 100,
    memUsed: s.memUsed,
    memTotal: s.memTotal,
    memCache: s.memCache,
    diskUsed: s.diskUsed,
    diskTotal: s.diskTotal,
  };
}

export function registerMetricsRoutes(app: Hono, sandboxes: SandboxService, metrics: MetricsStore): void {
  app.get('/sandboxes/:id/metrics', (c) => {
    const id = c.req.param('id');
    sandboxes.get(id);
    const start = unixSeconds('start', c.req.query('start'));
    const end = unixSeconds('end', c.req.query('end'));
    // `end` names a whole second: every sample taken during it is included.
    const samples = metrics.list(id, start === undefined ? 0 : start * 1000, end === undefined ? undefined : end * 1000 + 999);
    return c.json(samples.map(sandboxMetricJson));
  });
}
