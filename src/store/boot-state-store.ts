// Queries on the boot_states table: per template, a saved state of a sandbox booted with envd and
// the template's service warm, which fast creates restore instead of booting.
import type { Db } from './database.js';

export interface BootState {
  templateId: string;
  /** The sandbox address it was saved at (restored sockets bound to it need it present). */
  address: string;
  /** The runtime inputs it was taken with: another key means it is stale. */
  key: string;
  /** Saved once the sandbox's start-up work was done (see bootStateSettleMs); a build's is not. */
  settled: boolean;
}

interface Row {
  template_id: string;
  address: string;
  state_key: string;
  settled: number;
}

const fromRow = (r: Row): BootState => ({ templateId: r.template_id, address: r.address, key: r.state_key, settled: r.settled === 1 });

export class BootStateStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      set: db.prepare(`INSERT INTO boot_states (template_id, address, state_key, settled) VALUES (?, ?, ?, ?)
        ON CONFLICT(template_id) DO UPDATE SET address = excluded.address, state_key = excluded.state_key, settled = excluded.settled`),
      get: db.prepare('SELECT * FROM boot_states WHERE template_id = ?'),
      delete: db.prepare('DELETE FROM boot_states WHERE template_id = ?'),
      all: db.prepare('SELECT * FROM boot_states'),
    };
  }

  get(templateId: string): BootState | undefined {
    const r = this.stmts.get.get(templateId) as Row | undefined;
    return r && fromRow(r);
  }

  set(state: BootState): void {
    this.stmts.set.run(state.templateId, state.address, state.key, state.settled ? 1 : 0);
  }

  delete(templateId: string): void {
    this.stmts.delete.run(templateId);
  }

  all(): BootState[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }
}
