// Queries on the templates table: the root filesystems sandboxes are created from, built in or
// built by users (then a row holds its latest ready build).
import type { Db } from './database.js';

export interface TemplateRecord {
  id: string;
  alias: string | null;
  /** Read-only root filesystem layers, top first. */
  layers: string[];
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  /** Shell command run as root beside envd at boot (a built-in template's service); null for none. */
  startCmd: string | null;
  /** Port where the start command's service answers `GET /health` with 200 once ready. */
  readyPort: number | null;
  /** Environment every sandbox of the template starts with (a create's own variables win). */
  envVars: Record<string, string>;
  /** User and folder commands run as and in when a call names none; null: envd's defaults. */
  defaultUser: string | null;
  defaultWorkdir: string | null;
  /** A user template's start command, run by envd as `defaultUser` in `defaultWorkdir` at boot,
   *  and the shell command polled until it exits 0 (the service is ready). */
  serviceCmd: string | null;
  readyCmd: string | null;
  /** The build this row describes; null for a built-in template. */
  buildId: string | null;
  public: boolean;
  createdAt: number;
}

/** The fields a template has only when a user built it: a built-in one has none of them. */
export const notBuilt = {
  envVars: {}, defaultUser: null, defaultWorkdir: null, serviceCmd: null, readyCmd: null, buildId: null, public: true,
} as const satisfies Partial<TemplateRecord>;

interface Row {
  id: string;
  alias: string | null;
  layers: string;
  cpu_count: number;
  memory_mb: number;
  disk_size_mb: number;
  start_cmd: string | null;
  ready_port: number | null;
  env_vars: string;
  default_user: string | null;
  default_workdir: string | null;
  service_cmd: string | null;
  ready_cmd: string | null;
  build_id: string | null;
  public: number;
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
    envVars: JSON.parse(r.env_vars) as Record<string, string>,
    defaultUser: r.default_user,
    defaultWorkdir: r.default_workdir,
    serviceCmd: r.service_cmd,
    readyCmd: r.ready_cmd,
    buildId: r.build_id,
    public: r.public === 1,
    createdAt: r.created_at,
  };
}

export class TemplateStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      upsert: db.prepare(`INSERT INTO templates (id, alias, layers, cpu_count, memory_mb, disk_size_mb, start_cmd, ready_port,
          env_vars, default_user, default_workdir, service_cmd, ready_cmd, build_id, public, created_at)
        VALUES (@id, @alias, @layers, @cpuCount, @memoryMB, @diskSizeMB, @startCmd, @readyPort,
          @envVars, @defaultUser, @defaultWorkdir, @serviceCmd, @readyCmd, @buildId, @public, @createdAt)
        ON CONFLICT(id) DO UPDATE SET alias = excluded.alias, layers = excluded.layers, cpu_count = excluded.cpu_count,
          memory_mb = excluded.memory_mb, disk_size_mb = excluded.disk_size_mb, start_cmd = excluded.start_cmd,
          ready_port = excluded.ready_port, env_vars = excluded.env_vars, default_user = excluded.default_user,
          default_workdir = excluded.default_workdir, service_cmd = excluded.service_cmd, ready_cmd = excluded.ready_cmd,
          build_id = excluded.build_id, public = excluded.public`),
      byIdOrAlias: db.prepare('SELECT * FROM templates WHERE id = ? OR alias = ? ORDER BY id = ? DESC LIMIT 1'),
      all: db.prepare('SELECT * FROM templates ORDER BY created_at'),
      delete: db.prepare('DELETE FROM templates WHERE id = ?'),
      setPublic: db.prepare('UPDATE templates SET public = ? WHERE id = ?'),
    };
  }

  upsert(rec: TemplateRecord): void {
    this.stmts.upsert.run({ ...rec, layers: JSON.stringify(rec.layers), envVars: JSON.stringify(rec.envVars), public: rec.public ? 1 : 0 });
  }

  find(idOrAlias: string): TemplateRecord | undefined {
    const row = this.stmts.byIdOrAlias.get(idOrAlias, idOrAlias, idOrAlias) as Row | undefined;
    return row && fromRow(row);
  }

  all(): TemplateRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }

  delete(id: string): void {
    this.stmts.delete.run(id);
  }

  setPublic(id: string, value: boolean): void {
    this.stmts.setPublic.run(value ? 1 : 0, id);
  }
}
