// Queries on the sandbox_metrics table: one row per sample, removed with its sandbox (the foreign
// key cascades when the sandbox row is deleted).
import type { Db } from './database.js';

export interface MetricSample {
  sandboxId: string;
  /** Unix ms. */
  at: number;
  cpuCount: number;
  /** Share of the sandbox's CPUs used since the previous sample, 0–100. */
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

interface Row {
  sandbox_id: string;
  at: number;
  cpu_count: number;
  cpu_used_pct: number;
  mem_used: number;
  mem_total: number;
  mem_cache: number;
  disk_used: number;
  disk_total: number;
}

function fromRow(r: Row): MetricSample {
  return {
    sandboxId: r.sandbox_id,
    at: r.at,
    cpuCount: r.cpu_count,
    cpuUsedPct: r.cpu_used_pct,
    memUsed: r.mem_used,
    memTotal: r.mem_total,
    memCache: r.mem_cache,
    diskUsed: r.disk_used,
    diskTotal: r.disk_total,
  };
}

export class MetricsStore {
  private readonly stmts;
  private readonly insertAll: (samples: MetricSample[]) => number;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO sandbox_metrics
        (sandbox_id, at, cpu_count, cpu_used_pct, mem_used, mem_total, mem_cache, disk_used, disk_total)
        SELECT @sandboxId, @at, @cpuCount, @cpuUsedPct, @memUsed, @memTotal, @memCache, @diskUsed, @diskTotal
        WHERE EXISTS (SELECT 1 FROM sandboxes WHERE id = @sandboxId)`),
      list: db.prepare(`SELECT * FROM sandbox_metrics WHERE sandbox_id = ? AND at >= ? AND at <= ? ORDER BY at`),
      // One index probe per running sandbox, however many samples each has.
      latestOfRunning: db.prepare(`SELECT m.*, s.template_id FROM sandboxes s
        JOIN sandbox_metrics m ON m.rowid = (SELECT rowid FROM sandbox_metrics WHERE sandbox_id = s.id ORDER BY at DESC LIMIT 1)
        WHERE s.state = 'running'`),
    };
    // The guard in the INSERT skips a sample of a sandbox deleted meanwhile instead of failing on
    // the foreign key; one transaction per tick keeps 100 samples one commit.
    this.insertAll = db.transaction((samples: MetricSample[]) => {
      let n = 0;
      for (const s of samples) n += this.stmts.insert.run(s).changes;
      return n;
    });
  }

  /** Stores the samples in one transaction; returns how many were kept. */
  insert(samples: MetricSample[]): number {
    return samples.length === 0 ? 0 : this.insertAll(samples);
  }

  /** The latest sample of each running sandbox, with its template. */
  latestOfRunning(): Array<MetricSample & { templateId: string }> {
    return (this.stmts.latestOfRunning.all() as Array<Row & { template_id: string }>).map((r) => ({ ...fromRow(r), templateId: r.template_id }));
  }

  /** Samples of a sandbox between two instants (unix ms, inclusive), oldest first. */
  list(sandboxId: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): MetricSample[] {
    return (this.stmts.list.all(sandboxId, fromMs, toMs) as Row[]).map(fromRow);
  }
}
