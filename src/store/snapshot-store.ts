// Queries on the snapshots table: a sandbox's memory and files saved for new sandboxes to start
// from (`Sandbox.create(snapshotId)`).
import type { Db } from './database.js';

export interface SnapshotRecord {
  id: string;
  sourceSandboxId: string;
  /** The source's root filesystem. */
  layers: string[];
  startCmd: string | null;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  /** The source's address when its state was saved, and envd's token in that state. */
  address: string;
  envdToken: string;
  createdAt: number;
  /** The name given at createSnapshot; null for none. */
  name?: string | null;
}

interface Row {
  id: string;
  source_sandbox_id: string;
  layers: string;
  start_cmd: string | null;
  cpu_count: number;
  memory_mb: number;
  disk_size_mb: number;
  address: string;
  envd_token: string;
  created_at: number;
  name: string | null;
}

function fromRow(r: Row): SnapshotRecord {
  return {
    id: r.id,
    sourceSandboxId: r.source_sandbox_id,
    layers: JSON.parse(r.layers) as string[],
    startCmd: r.start_cmd,
    cpuCount: r.cpu_count,
    memoryMB: r.memory_mb,
    diskSizeMB: r.disk_size_mb,
    address: r.address,
    envdToken: r.envd_token,
    createdAt: r.created_at,
    name: r.name,
  };
}

export class SnapshotStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO snapshots (id, source_sandbox_id, layers, start_cmd, cpu_count, memory_mb, disk_size_mb,
          address, envd_token, created_at, name)
        VALUES (@id, @sourceSandboxId, @layers, @startCmd, @cpuCount, @memoryMB, @diskSizeMB, @address, @envdToken, @createdAt, @name)`),
      get: db.prepare('SELECT * FROM snapshots WHERE id = ?'),
      newestNamed: db.prepare('SELECT * FROM snapshots WHERE name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1'),
      delete: db.prepare('DELETE FROM snapshots WHERE id = ?'),
      all: db.prepare('SELECT * FROM snapshots ORDER BY created_at DESC, id'),
    };
  }

  insert(rec: SnapshotRecord): void {
    this.stmts.insert.run({ ...rec, name: rec.name ?? null, layers: JSON.stringify(rec.layers) });
  }

  /** The snapshot of an id, or the newest of a name, optionally tagged `:default` (the SDKs'
   *  form of a snapshot's full name). */
  get(ref: string): SnapshotRecord | undefined {
    const row = (this.stmts.get.get(ref) ?? this.stmts.newestNamed.get(ref.replace(/:default$/, ''))) as Row | undefined;
    return row && fromRow(row);
  }

  /** True when there was one. */
  delete(id: string): boolean {
    return this.stmts.delete.run(id).changes > 0;
  }

  /** Newest first. */
  all(): SnapshotRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }
}
