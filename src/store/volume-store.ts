// Queries on the volumes table and on which sandbox mounts which volume where.
import type { Db } from './database.js';

export interface VolumeRecord {
  id: string;
  name: string;
  /** Bearer token of the volume content API. */
  token: string;
  createdAt: number;
}

/** A volume mounted into a sandbox at `path`. */
export interface VolumeMountRecord {
  volumeId: string;
  name: string;
  path: string;
}

interface Row {
  id: string;
  name: string;
  token: string;
  created_at: number;
}

const fromRow = (r: Row): VolumeRecord => ({ id: r.id, name: r.name, token: r.token, createdAt: r.created_at });

export class VolumeStore {
  private readonly stmts;
  private readonly attachAll: (sandboxId: string, mounts: VolumeMountRecord[]) => boolean;
  private readonly deleteUnused: (id: string) => 'deleted' | 'in-use' | 'missing';

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT INTO volumes (id, name, token, created_at) VALUES (@id, @name, @token, @createdAt) ON CONFLICT (name) DO NOTHING'),
      get: db.prepare('SELECT * FROM volumes WHERE id = ?'),
      byName: db.prepare('SELECT * FROM volumes WHERE name = ?'),
      all: db.prepare('SELECT * FROM volumes ORDER BY created_at, id'),
      delete: db.prepare('DELETE FROM volumes WHERE id = ?'),
      users: db.prepare('SELECT sandbox_id FROM sandbox_volumes WHERE volume_id = ? ORDER BY sandbox_id'),
      snapshotUsers: db.prepare('SELECT snapshot_id FROM snapshot_volumes WHERE volume_id = ? ORDER BY snapshot_id'),
      snapshotMount: db.prepare('INSERT INTO snapshot_volumes (snapshot_id, volume_id, path) VALUES (?, ?, ?)'),
      snapshotMounts: db.prepare(`SELECT v.id AS volume_id, v.name AS name, m.path AS path FROM snapshot_volumes m JOIN volumes v ON v.id = m.volume_id
        WHERE m.snapshot_id = ? ORDER BY m.path`),
      mount: db.prepare('INSERT INTO sandbox_volumes (sandbox_id, volume_id, path) VALUES (?, ?, ?)'),
      mountsOf: db.prepare(`SELECT v.id AS volume_id, v.name AS name, m.path AS path FROM sandbox_volumes m JOIN volumes v ON v.id = m.volume_id
        WHERE m.sandbox_id = ? ORDER BY m.path`),
    };
    // Each is one transaction: a volume is deleted only while no sandbox mounts it, and a sandbox
    // mounts only volumes that still exist.
    this.attachAll = db.transaction((sandboxId: string, mounts: VolumeMountRecord[]) => {
      if (mounts.some((m) => !this.stmts.get.get(m.volumeId))) return false;
      for (const m of mounts) this.stmts.mount.run(sandboxId, m.volumeId, m.path);
      return true;
    });
    this.deleteUnused = db.transaction((id: string) => {
      if (this.stmts.users.get(id) || this.stmts.snapshotUsers.get(id)) return 'in-use' as const;
      return this.stmts.delete.run(id).changes > 0 ? ('deleted' as const) : ('missing' as const);
    });
  }

  /** False when the name is taken. */
  insert(rec: VolumeRecord): boolean {
    return this.stmts.insert.run(rec).changes > 0;
  }

  get(id: string): VolumeRecord | undefined {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row && fromRow(row);
  }

  byName(name: string): VolumeRecord | undefined {
    const row = this.stmts.byName.get(name) as Row | undefined;
    return row && fromRow(row);
  }

  /** Oldest first. */
  all(): VolumeRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }

  /** Ids of the sandboxes (of any state) that mount the volume, and of the snapshots whose
   *  sandboxes will. */
  users(id: string): { sandboxes: string[]; snapshots: string[] } {
    return {
      sandboxes: (this.stmts.users.all(id) as Array<{ sandbox_id: string }>).map((r) => r.sandbox_id),
      snapshots: (this.stmts.snapshotUsers.all(id) as Array<{ snapshot_id: string }>).map((r) => r.snapshot_id),
    };
  }

  /** Records the mounts a snapshot's sandbox had. Its rows go with the snapshot's own. */
  attachSnapshot(snapshotId: string, mounts: VolumeMountRecord[]): void {
    for (const m of mounts) this.stmts.snapshotMount.run(snapshotId, m.volumeId, m.path);
  }

  snapshotMountsOf(snapshotId: string): VolumeMountRecord[] {
    return (this.stmts.snapshotMounts.all(snapshotId) as Array<{ volume_id: string; name: string; path: string }>).map((r) => ({ volumeId: r.volume_id, name: r.name, path: r.path }));
  }

  /** Records a sandbox's mounts; false (and nothing recorded) when one of the volumes is gone. */
  attach(sandboxId: string, mounts: VolumeMountRecord[]): boolean {
    return this.attachAll(sandboxId, mounts);
  }

  /** What a sandbox mounts, by mount point. Its rows go with the sandbox's own (ON DELETE CASCADE). */
  mountsOf(sandboxId: string): VolumeMountRecord[] {
    return (this.stmts.mountsOf.all(sandboxId) as Array<{ volume_id: string; name: string; path: string }>).map((r) => ({ volumeId: r.volume_id, name: r.name, path: r.path }));
  }

  /** Deletes the volume's row unless a sandbox mounts it. */
  delete(id: string): 'deleted' | 'in-use' | 'missing' {
    return this.deleteUnused(id);
  }
}
