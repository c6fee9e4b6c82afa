// The lifecycle journal (operations table): each operation's intent before it acts, its outcome
// after. Recovery reads the rows still open.
import { type Db, durably } from './database.js';

export type OperationKind = 'create' | 'pause' | 'resume' | 'clone' | 'snapshot' | 'kill' | 'network' | 'timeout';
export type OperationOutcome = 'ok' | 'failed' | 'recovered';

export interface OperationRecord {
  id: number;
  kind: OperationKind;
  sandboxId: string;
  /** What recovery needs to finish or undo the operation (its shape depends on the kind). */
  detail: Record<string, unknown>;
  startedAt: number;
}

/** An operation as its sandbox's history shows it: open ones have no finish yet. */
export interface OperationEvent extends OperationRecord {
  finishedAt: number | null;
  outcome: OperationOutcome | null;
  error: string | null;
}

interface Row {
  id: number;
  kind: OperationKind;
  sandbox_id: string;
  detail: string;
  started_at: number;
}

/** Finished rows are kept this long, for whoever looks into what happened. */
const keepFinishedMs = 24 * 3600 * 1000;

export class OperationStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      begin: db.prepare('INSERT INTO operations (kind, sandbox_id, detail, started_at) VALUES (?, ?, ?, ?)'),
      setDetail: db.prepare('UPDATE operations SET detail = ? WHERE id = ?'),
      finish: db.prepare('UPDATE operations SET finished_at = ?, outcome = ?, error = ? WHERE id = ?'),
      open: db.prepare('SELECT id, kind, sandbox_id, detail, started_at FROM operations WHERE finished_at IS NULL ORDER BY id'),
      // A clone's row is its source's; its detail names the clones it started.
      history: db.prepare(`SELECT id, kind, sandbox_id, detail, started_at, finished_at, outcome, error FROM operations
        WHERE sandbox_id = ? OR (kind = 'clone' AND detail LIKE ?) ORDER BY started_at, id`),
      prune: db.prepare('DELETE FROM operations WHERE finished_at IS NOT NULL AND finished_at < ?'),
    };
  }

  /** Writes the intent; `alongside` runs in the same transaction (the state it moves to). */
  begin(kind: OperationKind, sandboxId: string, detail: Record<string, unknown>, alongside?: () => void): number {
    return this.db.transaction(() => {
      const info = this.stmts.begin.run(kind, sandboxId, JSON.stringify(detail), Date.now());
      alongside?.();
      return Number(info.lastInsertRowid);
    })();
  }

  setDetail(id: number, detail: Record<string, unknown>): void {
    this.stmts.setDetail.run(JSON.stringify(detail), id);
  }

  /** Writes the outcome; `alongside` runs in the same transaction. */
  finish(id: number, outcome: OperationOutcome, error?: string, alongside?: () => void): void {
    this.db.transaction(() => {
      alongside?.();
      this.stmts.finish.run(Date.now(), outcome, error ?? null, id);
    })();
  }

  /** Writes what must outlive a power loss (a saved state's record) synced to disk. */
  durably<T>(write: () => T): T {
    return durably(this.db, write);
  }

  /** Operations a crash cut short, oldest first. */
  open(): OperationRecord[] {
    return (this.stmts.open.all() as Row[]).map((r) => ({
      id: r.id,
      kind: r.kind,
      sandboxId: r.sandbox_id,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
      startedAt: r.started_at,
    }));
  }

  /** Every operation on a sandbox (and the clone that started it) still kept, oldest first. */
  history(sandboxId: string): OperationEvent[] {
    const rows = this.stmts.history.all(sandboxId, `%${JSON.stringify(sandboxId)}%`) as (Row & { finished_at: number | null; outcome: OperationOutcome | null; error: string | null })[];
    return rows
      .map((r) => ({
        id: r.id,
        kind: r.kind,
        sandboxId: r.sandbox_id,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        outcome: r.outcome,
        error: r.error,
      }))
      .filter((e) => e.sandboxId === sandboxId || (Array.isArray(e.detail.clones) && e.detail.clones.includes(sandboxId)));
  }

  prune(now = Date.now()): void {
    this.stmts.prune.run(now - keepFinishedMs);
  }
}
