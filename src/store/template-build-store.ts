// Queries on template builds, their log lines and the tags that name builds.
import type { Db } from './database.js';
import type { TemplateRecord } from './template-store.js';

export type BuildStatus = 'waiting' | 'building' | 'ready' | 'error';

export interface BuildReason {
  message: string;
  /** The step that failed, as the SDK numbers them (`"1"` is the first step). */
  step?: string;
}

export interface BuildRecord {
  id: string;
  templateId: string;
  status: BuildStatus;
  reason: BuildReason | null;
  cpuCount: number;
  memoryMB: number;
  /** What sandboxes of this build start from, once it is ready. */
  result: TemplateRecord | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface BuildLogEntry {
  timestamp: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  step?: string;
}

export interface TagRecord {
  tag: string;
  buildId: string;
  createdAt: number;
}

interface BuildRow {
  id: string;
  template_id: string;
  status: BuildStatus;
  reason: string | null;
  cpu_count: number;
  memory_mb: number;
  result: string | null;
  created_at: number;
  finished_at: number | null;
}

function buildFromRow(r: BuildRow): BuildRecord {
  return {
    id: r.id,
    templateId: r.template_id,
    status: r.status,
    reason: r.reason === null ? null : (JSON.parse(r.reason) as BuildReason),
    cpuCount: r.cpu_count,
    memoryMB: r.memory_mb,
    result: r.result === null ? null : (JSON.parse(r.result) as TemplateRecord),
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

const levels = ['debug', 'info', 'warn', 'error'] as const;

export class TemplateBuildStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO template_builds (id, template_id, status, cpu_count, memory_mb, created_at)
        VALUES (@id, @templateId, 'waiting', @cpuCount, @memoryMB, @createdAt)`),
      get: db.prepare('SELECT * FROM template_builds WHERE id = ?'),
      ofTemplate: db.prepare('SELECT * FROM template_builds WHERE template_id = ? ORDER BY created_at DESC'),
      inFlight: db.prepare("SELECT * FROM template_builds WHERE status IN ('waiting', 'building')"),
      building: db.prepare("UPDATE template_builds SET status = 'building' WHERE id = ? AND status = 'waiting'"),
      finish: db.prepare('UPDATE template_builds SET status = @status, reason = @reason, result = @result, finished_at = @finishedAt WHERE id = @id'),
      deleteOfTemplate: db.prepare('DELETE FROM template_builds WHERE template_id = ?'),
      nextSeq: db.prepare('SELECT COALESCE(MAX(seq), -1) + 1 AS seq FROM template_build_logs WHERE build_id = ?'),
      log: db.prepare('INSERT INTO template_build_logs (build_id, seq, timestamp, level, message, step) VALUES (?, ?, ?, ?, ?, ?)'),
      logs: db.prepare('SELECT * FROM template_build_logs WHERE build_id = ? AND seq >= ? ORDER BY seq LIMIT ?'),
      deleteLogs: db.prepare('DELETE FROM template_build_logs WHERE build_id IN (SELECT id FROM template_builds WHERE template_id = ?)'),
      setTag: db.prepare(`INSERT INTO template_tags (template_id, tag, build_id, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(template_id, tag) DO UPDATE SET build_id = excluded.build_id, created_at = excluded.created_at`),
      tag: db.prepare('SELECT * FROM template_tags WHERE template_id = ? AND tag = ?'),
      tags: db.prepare('SELECT * FROM template_tags WHERE template_id = ? ORDER BY created_at'),
      deleteTag: db.prepare('DELETE FROM template_tags WHERE template_id = ? AND tag = ?'),
      deleteTags: db.prepare('DELETE FROM template_tags WHERE template_id = ?'),
      allResults: db.prepare("SELECT result FROM template_builds WHERE status = 'ready' AND result IS NOT NULL"),
    };
  }

  insert(build: Pick<BuildRecord, 'id' | 'templateId' | 'cpuCount' | 'memoryMB' | 'createdAt'>): void {
    this.stmts.insert.run(build);
  }

  get(id: string): BuildRecord | undefined {
    const r = this.stmts.get.get(id) as BuildRow | undefined;
    return r && buildFromRow(r);
  }

  /** Newest first. */
  ofTemplate(templateId: string): BuildRecord[] {
    return (this.stmts.ofTemplate.all(templateId) as BuildRow[]).map(buildFromRow);
  }

  inFlight(): BuildRecord[] {
    return (this.stmts.inFlight.all() as BuildRow[]).map(buildFromRow);
  }

  /** Moves a waiting build to `building`; false when it was not waiting (started twice). */
  markBuilding(id: string): boolean {
    return this.stmts.building.run(id).changes === 1;
  }

  finish(id: string, outcome: { status: 'ready'; result: TemplateRecord } | { status: 'error'; reason: BuildReason }): void {
    this.stmts.finish.run({
      id,
      status: outcome.status,
      reason: outcome.status === 'error' ? JSON.stringify(outcome.reason) : null,
      result: outcome.status === 'ready' ? JSON.stringify(outcome.result) : null,
      finishedAt: Date.now(),
    });
  }

  appendLog(buildId: string, entry: BuildLogEntry): void {
    this.db.transaction(() => {
      const { seq } = this.stmts.nextSeq.get(buildId) as { seq: number };
      this.stmts.log.run(buildId, seq, entry.timestamp, entry.level, entry.message, entry.step ?? null);
    })();
  }

  /** Log entries from `offset` on, at `minLevel` or above. */
  logs(buildId: string, offset: number, limit: number, minLevel: BuildLogEntry['level'] = 'debug'): BuildLogEntry[] {
    const rows = this.stmts.logs.all(buildId, offset, limit) as { timestamp: number; level: BuildLogEntry['level']; message: string; step: string | null }[];
    const least = levels.indexOf(minLevel);
    return rows
      .filter((r) => levels.indexOf(r.level) >= least)
      .map((r) => ({ timestamp: r.timestamp, level: r.level, message: r.message, ...(r.step === null ? {} : { step: r.step }) }));
  }

  setTag(templateId: string, tag: string, buildId: string): void {
    this.stmts.setTag.run(templateId, tag, buildId, Date.now());
  }

  tag(templateId: string, tag: string): TagRecord | undefined {
    const r = this.stmts.tag.get(templateId, tag) as { tag: string; build_id: string; created_at: number } | undefined;
    return r && { tag: r.tag, buildId: r.build_id, createdAt: r.created_at };
  }

  tags(templateId: string): TagRecord[] {
    return (this.stmts.tags.all(templateId) as { tag: string; build_id: string; created_at: number }[])
      .map((r) => ({ tag: r.tag, buildId: r.build_id, createdAt: r.created_at }));
  }

  deleteTag(templateId: string, tag: string): boolean {
    return this.stmts.deleteTag.run(templateId, tag).changes === 1;
  }

  /** Every build, log line and tag of a template. */
  deleteTemplate(templateId: string): void {
    this.db.transaction(() => {
      this.stmts.deleteLogs.run(templateId);
      this.stmts.deleteTags.run(templateId);
      this.stmts.deleteOfTemplate.run(templateId);
    })();
  }

  /** Layers that ready builds start sandboxes from (kept by the layer cache's pruning). */
  layersInUse(): Set<string> {
    const used = new Set<string>();
    for (const { result } of this.stmts.allResults.all() as { result: string }[]) {
      for (const l of (JSON.parse(result) as TemplateRecord).layers) used.add(l);
    }
    return used;
  }
}
