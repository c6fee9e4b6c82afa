// Queries on the templates table.
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
  /** For a snapshot: the folder with its checkpoint (`image/`) and writable layer (`upper/`), the
   *  sandbox address it was saved at, and the sandbox it was taken of. */
  snapshotDir: string | null;
  snapshotAddress: string | null;
  sourceSandboxId: string | null;
  /** envd's access token in the saved state (a restore re-initialises envd with it). */
  snapshotToken: string | null;
  /** Port where the start command's service answers `GET /health` with 200 once ready. */
  readyPort: number | null;
  /** Fast create: the template's saved state, the address it was saved at, and the key of the
   *  runtime inputs it was taken with (a different key means it is stale). */
  bootCheckpointDir: string | null;
  bootCheckpointAddress: string | null;
  bootCheckpointKey: string | null;
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
  snapshot_dir: string | null;
  snapshot_address: string | null;
  source_sandbox_id: string | null;
  snapshot_token: string | null;
  ready_port: number | null;
  boot_checkpoint_dir: string | null;
  boot_checkpoint_address: string | null;
  boot_checkpoint_key: string | null;
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
    snapshotDir: r.snapshot_dir,
    snapshotAddress: r.snapshot_address,
    sourceSandboxId: r.source_sandbox_id,
    snapshotToken: r.snapshot_token,
    readyPort: r.ready_port,
    bootCheckpointDir: r.boot_checkpoint_dir,
    bootCheckpointAddress: r.boot_checkpoint_address,
    bootCheckpointKey: r.boot_checkpoint_key,
    createdAt: r.created_at,
  };
}

export class TemplateStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      upsert: db.prepare(`INSERT INTO templates (id, alias, layers, cpu_count, memory_mb, disk_size_mb, start_cmd,
          snapshot_dir, snapshot_address, source_sandbox_id, snapshot_token, ready_port, created_at)
        VALUES (@id, @alias, @layers, @cpuCount, @memoryMB, @diskSizeMB, @startCmd,
          @snapshotDir, @snapshotAddress, @sourceSandboxId, @snapshotToken, @readyPort, @createdAt)
        ON CONFLICT(id) DO UPDATE SET alias = excluded.alias, layers = excluded.layers, cpu_count = excluded.cpu_count,
          memory_mb = excluded.memory_mb, disk_size_mb = excluded.disk_size_mb, start_cmd = excluded.start_cmd,
          snapshot_dir = excluded.snapshot_dir, snapshot_address = excluded.snapshot_address,
          source_sandbox_id = excluded.source_sandbox_id, snapshot_token = excluded.snapshot_token,
          ready_port = excluded.ready_port`),
      setBootCheckpoint: db.prepare(`UPDATE templates SET boot_checkpoint_dir = ?, boot_checkpoint_address = ?,
          boot_checkpoint_key = ? WHERE id = ?`),
      delete: db.prepare('DELETE FROM templates WHERE id = ?'),
      snapshots: db.prepare('SELECT * FROM templates WHERE snapshot_dir IS NOT NULL ORDER BY created_at DESC, id'),
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

  /** Records (or with nulls, forgets) a template's saved boot state; the upsert leaves it alone. */
  setBootCheckpoint(id: string, dir: string | null, address: string | null, key: string | null): void {
    this.stmts.setBootCheckpoint.run(dir, address, key, id);
  }

  delete(id: string): void {
    this.stmts.delete.run(id);
  }

  /** Snapshots, newest first. */
  snapshots(): TemplateRecord[] {
    return (this.stmts.snapshots.all() as Row[]).map(fromRow);
  }

  all(): TemplateRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }
}
