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

  prune(now = Date.now()): void {
    this.stmts.prune.run(now - keepFinishedMs);
  }
}
