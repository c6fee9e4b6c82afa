// The server's Prometheus metrics wired to where their figures are: the database (sandboxes by
// state and template, the latest samples, builds in progress), the sandboxes paused warm, the
// lifecycle's `operation` event and the proxies' relay meters.
import type { Config } from '../config.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { Db } from '../store/database.js';
import { MetricsStore } from '../store/metrics-store.js';
import { SandboxStore } from '../store/sandbox-store.js';
import { TemplateBuildStore } from '../store/template-build-store.js';
import { PrometheusMetrics } from './prometheus.js';
import type { RelayFigures } from './prometheus-hooks.js';

/** `relays` is read at scrape time (the proxies may be made after this). */
export function serverPrometheus(db: Db, config: Config, sandboxes: SandboxService, relays: () => Record<'api' | 'public', { figures(): RelayFigures }>): PrometheusMetrics {
  const records = new SandboxStore(db);
  const samples = new MetricsStore(db);
  const builds = new TemplateBuildStore(db);
  const prometheus = new PrometheusMetrics({
    sandboxCounts: () => records.countByStateAndTemplate(),
    latestSamples: () => samples.latestOfRunning(),
    buildsInProgress: () => builds.inFlight().filter((b) => b.status === 'building').length,
    warmPausedCounts: () => countByTemplate(sandboxes.warmPaused().map((id) => records.get(id)?.templateId)),
    relays: {
      api: { figures: () => relays().api.figures() },
      public: { figures: () => relays().public.figures() },
    },
    warmPoolTarget: config.warmPoolSize,
  });
  sandboxes.on('operation', (kind, ms, err) => prometheus.operation(kind, ms, err));
  return prometheus;
}

/** How many of the given templates each is (undefined: a sandbox gone meanwhile, not counted). */
function countByTemplate(templateIds: Array<string | undefined>): Array<{ templateId: string; count: number }> {
  const counts = new Map<string, number>();
  for (const t of templateIds) if (t !== undefined) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([templateId, count]) => ({ templateId, count }));
}
