// Queries on the sandboxes table. Rows are mapped to SandboxRecord and back here only.
import type { Db } from './database.js';

/** `pausing` and `resuming` are written before the runtime acts, so a restart can tell how far
 *  an interrupted operation got. */
export type SandboxState = 'starting' | 'running' | 'pausing' | 'paused' | 'resuming' | 'killing' | 'pooled';

/** Outbound rules beyond allow_internet_access: CIDRs and domain names. */
export interface NetworkRules {
  allowOut: string[];
  denyOut: string[];
}

export interface SandboxRecord {
  seq: number;
  id: string;
  templateId: string;
  alias: string | null;
  state: SandboxState;
  envdToken: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  startedAt: number;
  endAt: number;
  autoPause: boolean;
  autoResume: boolean;
  allowInternetAccess: boolean;
  networkIndex: number | null;
  /** The timeout asked for at create (a clone of a running sandbox inherits it). */
  timeoutSeconds: number;
  pausedAt: number | null;
  /** Killed after this long without traffic; null when the sandbox has no idle timeout. */
  idleTimeoutSeconds: number | null;
  networkRules: NetworkRules | null;
  /** The root filesystem it was made with (read-only layers, top first) and the command started
   *  beside envd at boot: kept with the sandbox, whatever becomes of its template or snapshot. */
  layers: string[];
  startCmd: string | null;
}

export type NewSandboxRecord = Omit<SandboxRecord, 'seq'>;

interface Row {
  seq: number;
  id: string;
  template_id: string;
  alias: string | null;
  state: SandboxState;
  envd_token: string;
  metadata: string;
  env_vars: string;
  cpu_count: number;
  memory_mb: number;
  disk_size_mb: number;
  started_at: number;
  end_at: number;
  auto_pause: number;
  auto_resume: number;
  allow_internet_access: number;
  network_index: number | null;
  timeout_s: number;
  paused_at: number | null;
  idle_timeout_s: number | null;
  network_rules: string | null;
  layers: string;
  start_cmd: string | null;
}

function fromRow(r: Row): SandboxRecord {
  return {
    seq: r.seq,
    id: r.id,
    templateId: r.template_id,
    alias: r.alias,
    state: r.state,
    envdToken: r.envd_token,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    envVars: JSON.parse(r.env_vars) as Record<string, string>,
    cpuCount: r.cpu_count,
    memoryMB: r.memory_mb,
    diskSizeMB: r.disk_size_mb,
    startedAt: r.started_at,
    endAt: r.end_at,
    autoPause: r.auto_pause === 1,
    autoResume: r.auto_resume === 1,
    allowInternetAccess: r.allow_internet_access === 1,
    networkIndex: r.network_index,
    timeoutSeconds: r.timeout_s,
    pausedAt: r.paused_at,
    idleTimeoutSeconds: r.idle_timeout_s,
    networkRules: r.network_rules === null ? null : (JSON.parse(r.network_rules) as NetworkRules),
    layers: JSON.parse(r.layers) as string[],
    startCmd: r.start_cmd,
  };
}

/** The fields stored as JSON or integers, in their column form. */
function columnsOf(rec: Pick<SandboxRecord, 'metadata' | 'envVars' | 'autoPause' | 'autoResume' | 'allowInternetAccess' | 'networkRules'>) {
  return {
    metadata: JSON.stringify(rec.metadata),
    envVars: JSON.stringify(rec.envVars),
    autoPause: rec.autoPause ? 1 : 0,
    autoResume: rec.autoResume ? 1 : 0,
    allowInternetAccess: rec.allowInternetAccess ? 1 : 0,
    networkRules: rec.networkRules && JSON.stringify(rec.networkRules),
  };
}

/** Pause without memory (e2b's keepMemory: false): kept beside the record, which most
 *  operations never need it in. */
export interface PauseOptions {
  /** False: a pause at the timeout keeps the files only. */
  autoPauseMemory: boolean;
  /** True while paused by a pause that kept the files only: resume boots. */
  pausedWithoutMemory: boolean;
}

export type RunningSize = Pick<SandboxRecord, 'id' | 'cpuCount' | 'diskSizeMB' | 'startedAt'>;

/** A position in the newest-first order of the list: start time, then row number. */
export interface ListCursor {
  startedAt: number;
  seq: number;
}

export interface ListFilter {
  states: SandboxState[];
  metadata: Record<string, string>;
  /** Only sandboxes after this position (the page token), in `order`. */
  after?: ListCursor;
  limit: number;
  /** By start time: newest first (`desc`, the default) or oldest first. */
  order?: 'asc' | 'desc';
  /** Only sandboxes started at or after this time (unix ms). */
  startedAfter?: number;
  /** Only sandboxes of a template with one of these ids or names. */
  templates?: string[];
}

export class SandboxStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO sandboxes
        (id, template_id, alias, state, envd_token, metadata, env_vars, cpu_count, memory_mb, disk_size_mb,
         started_at, end_at, auto_pause, auto_resume, allow_internet_access, network_index, timeout_s, paused_at,
         idle_timeout_s, network_rules, layers, start_cmd)
        VALUES (@id, @templateId, @alias, @state, @envdToken, @metadata, @envVars, @cpuCount, @memoryMB, @diskSizeMB,
         @startedAt, @endAt, @autoPause, @autoResume, @allowInternetAccess, @networkIndex, @timeoutSeconds, @pausedAt,
         @idleTimeoutSeconds, @networkRules, @layers, @startCmd)`),
      get: db.prepare('SELECT * FROM sandboxes WHERE id = ?'),
      all: db.prepare('SELECT * FROM sandboxes ORDER BY seq'),
      setState: db.prepare('UPDATE sandboxes SET state = ? WHERE id = ?'),
      setEndAt: db.prepare('UPDATE sandboxes SET end_at = ? WHERE id = ?'),
      setPaused: db.prepare("UPDATE sandboxes SET state = 'paused', paused_at = ? WHERE id = ?"),
      setResumed: db.prepare("UPDATE sandboxes SET state = 'running', paused_at = NULL, end_at = ? WHERE id = ?"),
      adoptPooled: db.prepare(`UPDATE sandboxes SET envd_token = @envdToken, metadata = @metadata,
        env_vars = @envVars, started_at = @startedAt, end_at = @endAt, auto_pause = @autoPause, auto_resume = @autoResume,
        allow_internet_access = @allowInternetAccess, timeout_s = @timeoutSeconds, paused_at = @pausedAt,
        idle_timeout_s = @idleTimeoutSeconds, network_rules = @networkRules WHERE id = @id AND state = 'pooled'`),
      pauseOptions: db.prepare('SELECT auto_pause_memory, paused_without_memory FROM sandboxes WHERE id = ?'),
      setAutoPauseMemory: db.prepare('UPDATE sandboxes SET auto_pause_memory = ? WHERE id = ?'),
      setPausedWithoutMemory: db.prepare('UPDATE sandboxes SET paused_without_memory = ? WHERE id = ?'),
      setNetworkRules: db.prepare('UPDATE sandboxes SET network_rules = ? WHERE id = ?'),
      delete: db.prepare('DELETE FROM sandboxes WHERE id = ?'),
      countByStateAndTemplate: db.prepare('SELECT state, template_id AS templateId, COUNT(*) AS count FROM sandboxes GROUP BY state, template_id'),
      countAll: db.prepare('SELECT COUNT(*) AS n FROM sandboxes'),
      countOwned: db.prepare("SELECT COUNT(*) AS n FROM sandboxes WHERE state IN ('running', 'pausing', 'paused', 'resuming')"),
      sizesOfRunning: db.prepare(`SELECT id, cpu_count AS cpuCount, disk_size_mb AS diskSizeMB, started_at AS startedAt
        FROM sandboxes WHERE state IN ('running', 'resuming')`),
      usedNetworkIndexes: db.prepare('SELECT network_index FROM sandboxes WHERE network_index IS NOT NULL'),
    };
  }

  insert(rec: NewSandboxRecord): SandboxRecord {
    const info = this.stmts.insert.run({ ...rec, ...columnsOf(rec), layers: JSON.stringify(rec.layers) });
    return { ...rec, seq: Number(info.lastInsertRowid) };
  }

  get(id: string): SandboxRecord | undefined {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row && fromRow(row);
  }

  all(): SandboxRecord[] {
    return (this.stmts.all.all() as Row[]).map(fromRow);
  }

  setState(id: string, state: SandboxState): void {
    this.stmts.setState.run(state, id);
  }

  setEndAt(id: string, endAt: number): void {
    this.stmts.setEndAt.run(endAt, id);
  }

  setPaused(id: string, pausedAt: number): void {
    this.stmts.setPaused.run(pausedAt, id);
  }

  /** Hands a pooled sandbox to a create: it takes over everything a new record would have but
   *  its state, which stays `pooled` until envd has taken its token. */
  adoptPooled(id: string, rec: Omit<NewSandboxRecord, 'id' | 'state' | 'networkIndex' | 'cpuCount' | 'memoryMB' | 'diskSizeMB' | 'templateId' | 'alias' | 'layers' | 'startCmd'>): void {
    this.stmts.adoptPooled.run({ ...rec, id, ...columnsOf(rec) });
  }

  /** How a sandbox pauses at its timeout, and whether its current pause kept its memory. */
  pauseOptions(id: string): PauseOptions {
    const row = this.stmts.pauseOptions.get(id) as { auto_pause_memory: number; paused_without_memory: number } | undefined;
    return { autoPauseMemory: row?.auto_pause_memory !== 0, pausedWithoutMemory: row?.paused_without_memory === 1 };
  }

  setAutoPauseMemory(id: string, keep: boolean): void {
    this.stmts.setAutoPauseMemory.run(keep ? 1 : 0, id);
  }

  setPausedWithoutMemory(id: string, without: boolean): void {
    this.stmts.setPausedWithoutMemory.run(without ? 1 : 0, id);
  }

  setNetworkRules(id: string, rules: NetworkRules | null): void {
    this.stmts.setNetworkRules.run(rules && JSON.stringify(rules), id);
  }

  setResumed(id: string, endAt: number): void {
    this.stmts.setResumed.run(endAt, id);
  }

  delete(id: string): void {
    this.stmts.delete.run(id);
  }

  /** Sandboxes a create or clone answered for and that are not being killed (starts in flight
   *  are counted by their callers; the warm pool and saved boot states not at all). */
  /** How many sandboxes there are of each state and template (for the Prometheus metrics). */
  countByStateAndTemplate(): Array<{ state: SandboxState; templateId: string; count: number }> {
    return this.stmts.countByStateAndTemplate.all() as Array<{ state: SandboxState; templateId: string; count: number }>;
  }

  /** Every sandbox of the data folder, the warm pool's included. */
  countAll(): number {
    return (this.stmts.countAll.get() as { n: number }).n;
  }

  countOwned(): number {
    return (this.stmts.countOwned.get() as { n: number }).n;
  }

  /** What the metrics sampler needs of every sandbox listed as running, read without the rest of
   *  each row (it asks every 2 s). */
  sizesOfRunning(): RunningSize[] {
    return this.stmts.sizesOfRunning.all() as RunningSize[];
  }

  usedNetworkIndexes(): Set<number> {
    return new Set((this.stmts.usedNetworkIndexes.all() as { network_index: number }[]).map((r) => r.network_index));
  }

  /** In start-time order (newest first unless `order` is `asc`). Metadata pairs are ANDed and
   *  compared exactly; they are matched here rather than in SQL because keys may hold any
   *  character, which JSON paths cannot all express. */
  list(filter: ListFilter): SandboxRecord[] {
    const out: SandboxRecord[] = [];
    for (const rec of this.iterate(filter)) {
      out.push(rec);
      if (out.length === filter.limit) break;
    }
    return out;
  }

  /** How many sandboxes in `states` match the filter's other conditions, all pages together. */
  count(filter: Omit<ListFilter, 'after' | 'limit' | 'order'>): number {
    let n = 0;
    for (const _ of this.iterate(filter)) n++;
    return n;
  }

  private *iterate(filter: Omit<ListFilter, 'limit'>): Generator<SandboxRecord> {
    const where: string[] = [];
    const params: unknown[] = [];
    const asc = filter.order === 'asc';
    if (filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
      params.push(...filter.states);
    }
    if (filter.templates !== undefined) {
      const marks = filter.templates.map(() => '?').join(',');
      where.push(`(template_id IN (${marks}) OR alias IN (${marks}))`);
      params.push(...filter.templates, ...filter.templates);
    }
    if (filter.startedAfter !== undefined) {
      where.push('started_at >= ?');
      params.push(filter.startedAfter);
    }
    if (filter.after !== undefined) {
      where.push(asc ? '(started_at > ? OR (started_at = ? AND seq > ?))' : '(started_at < ? OR (started_at = ? AND seq < ?))');
      params.push(filter.after.startedAt, filter.after.startedAt, filter.after.seq);
    }
    // Start time, not row order: a sandbox from the warm pool got its row before it started.
    const direction = asc ? 'ASC' : 'DESC';
    const sql = `SELECT * FROM sandboxes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at ${direction}, seq ${direction}`;
    const wanted = Object.entries(filter.metadata);
    for (const row of this.db.prepare(sql).iterate(...params) as IterableIterator<Row>) {
      const rec = fromRow(row);
      if (wanted.every(([k, v]) => Object.hasOwn(rec.metadata, k) && rec.metadata[k] === v)) yield rec;
    }
  }
}
