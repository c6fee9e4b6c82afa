// Queries on the templates table: the root filesystems sandboxes are created from.
import type { Db } from './database.js';

export interface TemplateRecord {
  id: string;
  alias: string | null;
  /** Read-only root filesystem layers, top first. */
  layers: string[];
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  /** Shell command run as root beside envd at boot; null for none. */
  startCmd: string | null;
  /** Port where the start command's service answers `GET /health` with 200 once ready. */
  readyPort: number | null;
  createdAt: number;
}

interface Row {
  id: string;
  alias: string | null;
  layers: string;
  cpu_count: number;
  memory_mb: number;
  disk_size_mb: number;
  start_cmd: string | null;
  ready_port: number | null;
  created_at: number;
}

function fromRow(r: Row): TemplateRecord {
  return {
    id: r.id,
    alias: r.alias,
    layers: JSON.parse(r.layers) as string[],
    cpuCount: r.cpu_count,
    memoryMB: r.memory_mb,
    diskSizeMB: r.disk_size_mb,
    startCmd: r.start_cmd,
    readyPort: r.ready_port,
    createdAt: r.created_at,
  };
}

export class TemplateStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      upsert: db.prepare(`INSERT INTO templates (id, alias, layers, cpu_count, memory_mb, disk_size_mb, start_cmd, ready_port, created_at)
        VALUES (@id, @alias, @layers, @cpuCount, @memoryMB, @diskSizeMB, @startCmd, @readyPort, @createdAt)
        ON CONFLICT(id) DO UPDATE SET alias = excluded.alias, layers = excluded.layers, cpu_count = excluded.cpu_count,
          memory_mb = excluded.memory_mb, disk_size_mb = excluded.disk_size_mb, start_cmd = excluded.start_cmd,
          ready_port = excluded.ready_port`),
      byIdOrAlias: db.prepare('SELECT * FROM templates WHERE id = ? OR alias = ? ORDER BY id = ? DESC LIMIT 1'),
      all: db.prepare('SELECT * FROM templates ORDER BY created_at'),
    };
  }

  upsert(rec: TemplateRecord): void {
    this.stmts.upsert.run({ ...rec, layers: JSON.stringify(rec.layers) });
  }

  find(idOrAlias: string): TemplateRecord | undefined {
    const row = this.stmts.byIdOrAlias.get(idOrAlias, idOrAlias, idOrAlias) as Row | undefined;
    return row && fromRow(row);
  }

  all(): TemplateRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }
}
