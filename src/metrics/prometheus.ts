// The Prometheus metrics of one server (GET /metrics): every metric defined here, in a registry of
// its own. Figures that the database or a component already keeps (sandboxes by state, warm
// pools, warm-paused sandboxes, the latest sample of each running sandbox, relayed bytes) are read when Prometheus
// scrapes; operations and builds are observed as they end, through hooks that know nothing of
// prom-client (the lifecycle's `operation` event, prometheus-hooks.ts).
//
// Every label has a bounded set of values: states, operation kinds and error codes are fixed
// lists, templates are capped (maxTemplateLabels), and per-sandbox series exist only for the
// sandboxes running now. Nothing here carries a key, a token, metadata or environment variables.
import { collectDefaultMetrics, Counter, Gauge, type GaugeConfiguration, Histogram, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import { errorCatalogue, type ErrorCode, SandcastleError } from '../errors.js';
import type { OperationKind } from '../store/operation-store.js';
import type { BuildOutcome, RelayFigures } from './prometheus-hooks.js';

/** Templates named in labels; sandboxes of others are summed under `other`. */
export const maxTemplateLabels = 100;
const otherTemplates = 'other';

export interface SandboxCount {
  state: string;
  templateId: string;
  count: number;
}

export interface LatestSample {
  sandboxId: string;
  templateId: string;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
}

/** Where the figures read at scrape time come from. */
export interface PrometheusSources {
  sandboxCounts(): SandboxCount[];
  /** The latest sample of each running sandbox. */
  latestSamples(): LatestSample[];
  buildsInProgress(): number;
  /** Paused sandboxes whose processes wait frozen in memory, by template. */
  warmPausedCounts(): Array<{ templateId: string; count: number }>;
  relays: Record<'api' | 'public', { figures(): RelayFigures }>;
  warmPoolTarget: number;
}

export type ErrorCause = ErrorCode | 'UNKNOWN';

/** The catalogue's code of an error (src/errors.ts); `UNKNOWN` for one outside it (a bug). */
export function causeOf(err: unknown): ErrorCause {
  return err instanceof SandcastleError && err.code in errorCatalogue ? err.code : 'UNKNOWN';
}

export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly durations: Histogram<'operation'>;
  private readonly failures: Counter<'operation' | 'cause'>;
  private readonly buildDurations: Histogram<'outcome'>;

  constructor(sources: PrometheusSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.durations = new Histogram({
      name: 'sandcastle_operation_duration_seconds',
      help: 'Duration of lifecycle operations that succeeded (create, pause, resume, clone, snapshot, kill, network)',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.failures = new Counter({
      name: 'sandcastle_operation_errors_total',
      help: "Lifecycle operations that failed, by operation and cause (the error catalogue's code)",
      labelNames: ['operation', 'cause'],
      registers,
    });
    this.buildDurations = new Histogram({
      name: 'sandcastle_template_build_duration_seconds',
      help: 'Duration of template builds that ended, by outcome (ready or error)',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    new Gauge({
      name: 'sandcastle_template_builds_in_progress',
      help: 'Template builds waiting or building',
      registers,
      collect() {
        this.set(sources.buildsInProgress());
      },
    });

    new Gauge({
      name: 'sandcastle_sandboxes',
      help: 'Sandboxes by state and template (pooled: started ahead in a warm pool)',
      labelNames: ['state', 'template'],
      registers,
      collect() {
        this.reset();
        for (const c of boundTemplates(sources.sandboxCounts())) this.inc({ state: c.state, template: c.templateId }, c.count);
      },
    });
    new Gauge({
      name: 'sandcastle_warm_pool_sandboxes',
      help: 'Sandboxes ready in the warm pool, by template',
      labelNames: ['template'],
      registers,
      collect() {
        this.reset();
        for (const c of boundTemplates(sources.sandboxCounts())) if (c.state === 'pooled') this.inc({ template: c.templateId }, c.count);
      },
    });
    new Gauge({
      name: 'sandcastle_warm_paused_sandboxes',
      help: 'Paused sandboxes whose processes wait frozen in memory, by template: a resume thaws them (the rest of sandcastle_sandboxes{state="paused"} resume from disk)',
      labelNames: ['template'],
      registers,
      collect() {
        this.reset();
        for (const c of boundTemplates(sources.warmPausedCounts().map((w) => ({ ...w, state: 'paused' })))) this.inc({ template: c.templateId }, c.count);
      },
    });
    new Gauge({
      name: 'sandcastle_warm_pool_target',
      help: 'Sandboxes each template keeps in its warm pool (SANDCASTLE_WARM_POOL)',
      registers,
      collect() {
        this.set(sources.warmPoolTarget);
      },
    });

    const relayed = () => Object.entries(sources.relays).map(([proxy, meter]) => ({ proxy, ...meter.figures() }));
    new Counter({
      name: 'sandcastle_proxy_connections_total',
      help: 'Connections relayed to sandboxes (public URLs), or requests and upgrades relayed (SDK headers on the API port)',
      labelNames: ['proxy'],
      registers,
      collect() {
        this.reset();
        for (const r of relayed()) this.inc({ proxy: r.proxy }, r.opened);
      },
    });
    new Gauge({
      name: 'sandcastle_proxy_open_connections',
      help: 'Connections (public URLs) or requests (API port) being relayed to sandboxes now',
      labelNames: ['proxy'],
      registers,
      collect() {
        this.reset();
        for (const r of relayed()) this.set({ proxy: r.proxy }, r.open);
      },
    });
    new Counter({
      name: 'sandcastle_proxy_bytes_total',
      help: 'Bytes relayed, by proxy and direction (to_sandbox, from_sandbox)',
      labelNames: ['proxy', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const r of relayed()) {
          this.inc({ proxy: r.proxy, direction: 'to_sandbox' }, r.toSandbox);
          this.inc({ proxy: r.proxy, direction: 'from_sandbox' }, r.fromSandbox);
        }
      },
    });

    // One read of the latest samples serves the four per-sandbox gauges of a scrape: the first
    // reads, the others take the same rows.
    let latest: { at: number; rows: LatestSample[] } | undefined;
    const samples = () => {
      const now = performance.now();
      if (!latest || now - latest.at > 1000) latest = { at: now, rows: sources.latestSamples() };
      return latest.rows;
    };
    const perSandbox = (name: string, help: string, value: (s: LatestSample) => number) =>
      new SampleGauge({ name, help, labelNames: ['sandbox_id', 'template'], registers }, samples, value);
    perSandbox('sandcastle_sandbox_cpu_used_ratio', "Share of a running sandbox's CPUs used, 0–1, at its latest sample", (s) => s.cpuUsedPct / 100);
    perSandbox('sandcastle_sandbox_memory_used_bytes', "A running sandbox's memory use at its latest sample", (s) => s.memUsed);
    perSandbox('sandcastle_sandbox_memory_limit_bytes', "A running sandbox's memory limit", (s) => s.memTotal);
    perSandbox('sandcastle_sandbox_disk_used_bytes', "A running sandbox's disk use at its latest sample", (s) => s.diskUsed);
    // Samples read for this scrape must not be served to the next one.
    this.scrapeDone = () => (latest = undefined);
  }

  private readonly scrapeDone: () => void;

  /** A lifecycle operation ended (the lifecycle's `operation` event). */
  operation(kind: OperationKind, durationMs: number, err: unknown): void {
    if (err === undefined) this.durations.observe({ operation: kind }, durationMs / 1000);
    else this.failures.inc({ operation: kind, cause: causeOf(err) });
  }

  /** A template build ended. */
  build(outcome: BuildOutcome, seconds: number): void {
    this.buildDurations.observe({ outcome }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format. */
  async scrape(): Promise<string> {
    try {
      return await this.registry.metrics();
    } finally {
      this.scrapeDone();
    }
  }
}

type SampleLabels = 'sandbox_id' | 'template';

/**
 * A gauge with one series per running sandbox, made from the latest samples when scraped. Its
 * values are handed to the registry as they are rather than set one by one: setting hashes each
 * label set, which took a fifth of a scrape's CPU time with 500 sandboxes.
 */
class SampleGauge extends Gauge<SampleLabels> {
  constructor(
    config: GaugeConfiguration<SampleLabels>,
    private readonly rows: () => LatestSample[],
    private readonly value: (s: LatestSample) => number,
  ) {
    super(config);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<SampleLabels>>> {
    const base = await super.get();
    return { ...base, values: this.rows().map((s) => ({ labels: { sandbox_id: s.sandboxId, template: s.templateId }, value: this.value(s) })) };
  }
}

/** Counts with at most maxTemplateLabels templates named; the rest summed per state as `other`. */
function boundTemplates(counts: SandboxCount[]): SandboxCount[] {
  const templates = [...new Set(counts.map((c) => c.templateId))];
  if (templates.length <= maxTemplateLabels) return counts;
  const totals = new Map<string, number>();
  for (const c of counts) totals.set(c.templateId, (totals.get(c.templateId) ?? 0) + c.count);
  const named = new Set(templates.sort((a, b) => totals.get(b)! - totals.get(a)!).slice(0, maxTemplateLabels));
  return counts.map((c) => (named.has(c.templateId) ? c : { ...c, templateId: otherTemplates }));
}
