// A sandbox's logs (GET /sandboxes/{id}/logs, the e2b CLI's `sandbox logs`, and
// /v2/sandboxes/{id}/logs): its lifecycle events from the operations journal and envd's own log
// (src/envd/log-file.ts), merged in time order.
import type { Context, Hono } from 'hono';
import { parseEnvdLog } from '../envd/log-file.js';
import { errors } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { OperationEvent } from '../store/operation-store.js';

const levels = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof levels)[number];

export interface LogEntry {
  timestamp: number;
  level: Level;
  message: string;
  fields: Record<string, string>;
}

/** Most entries one answer holds (and the default). */
const maxLogLimit = 1000;

/** The entries an operation makes: its start, and its end once it has one. A clone's own history
 *  starts with its source's clone call. */
export function entriesOf(sandboxId: string, op: OperationEvent): LogEntry[] {
  const asClone = op.kind === 'clone' && op.sandboxId !== sandboxId;
  const what = asClone ? `start as a clone of ${op.sandboxId}` : op.kind;
  const fields = { logger: 'lifecycle', operation: op.kind, ...(asClone ? { sourceSandboxID: op.sandboxId } : {}) };
  const out: LogEntry[] = [{ timestamp: op.startedAt, level: 'info', message: `${what} started`, fields }];
  if (op.finishedAt === null) return out;
  const durationMs = String(op.finishedAt - op.startedAt);
  if (op.outcome === 'ok') out.push({ timestamp: op.finishedAt, level: 'info', message: `${what} done`, fields: { ...fields, durationMs } });
  else if (op.outcome === 'recovered') out.push({ timestamp: op.finishedAt, level: 'warn', message: `${what} was cut short by a server restart and settled by recovery`, fields });
  else out.push({ timestamp: op.finishedAt, level: 'error', message: `${what} failed: ${op.error ?? 'no reason recorded'}`, fields: { ...fields, durationMs } });
  return out;
}

async function entries(sandboxes: SandboxService, id: string): Promise<LogEntry[]> {
  const lifecycle = sandboxes.history(id).flatMap((op) => entriesOf(id, op));
  const envd = (await sandboxes.envdLogTexts(id)).flatMap(parseEnvdLog).map((l) => ({ ...l, fields: { ...l.fields, logger: 'envd' } }));
  return [...lifecycle, ...envd].sort((a, b) => a.timestamp - b.timestamp);
}

function intQuery(c: Context, name: string, min: number, max: number): number | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw errors.badRequest(`${name} must be an integer between ${min} and ${max}, got '${value}'`);
  return n;
}

function levelQuery(c: Context): Level | undefined {
  const value = c.req.query('level');
  if (value === undefined || value === '') return undefined;
  const level = value.toLowerCase() as Level;
  if (!levels.includes(level)) throw errors.badRequest(`level must be one of ${levels.join(', ')}, got '${value}'`);
  return level;
}

/** v2's query: from `cursor` (unix ms) `forward` (oldest first, the default, from the beginning)
 *  or `backward` (newest first, from now), at least `level`, containing `search`. */
export function selectEntries(all: LogEntry[], q: { cursor?: number; direction?: 'forward' | 'backward'; level?: Level; search?: string; limit: number }): LogEntry[] {
  const floor = levels.indexOf(q.level ?? 'debug');
  const wanted = all.filter((e) => levels.indexOf(e.level) >= floor && (q.search === undefined || e.message.includes(q.search)));
  if (q.direction === 'backward') {
    return wanted.filter((e) => q.cursor === undefined || e.timestamp <= q.cursor).reverse().slice(0, q.limit);
  }
  return wanted.filter((e) => q.cursor === undefined || e.timestamp >= q.cursor).slice(0, q.limit);
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerLogRoutes(app: Hono, sandboxes: SandboxService): void {
  // v1: the e2b CLI reads `logs`, each line a JSON object with `level` and `logger`.
  app.get('/sandboxes/:id/logs', async (c) => {
    const start = intQuery(c, 'start', 0, Number.MAX_SAFE_INTEGER);
    const limit = intQuery(c, 'limit', 1, maxLogLimit) ?? maxLogLimit;
    const chosen = selectEntries(await entries(sandboxes, c.req.param('id')), { cursor: start, limit });
    return c.json({
      logs: chosen.map((e) => ({ timestamp: iso(e.timestamp), line: JSON.stringify({ level: e.level, message: e.message, ...e.fields }) })),
      logEntries: chosen.map((e) => ({ ...e, timestamp: iso(e.timestamp) })),
    });
  });

  app.get('/v2/sandboxes/:id/logs', async (c) => {
    const direction = c.req.query('direction') || undefined;
    if (direction !== undefined && direction !== 'forward' && direction !== 'backward') {
      throw errors.badRequest(`direction must be 'forward' or 'backward', got '${direction}'`);
    }
    const chosen = selectEntries(await entries(sandboxes, c.req.param('id')), {
      cursor: intQuery(c, 'cursor', 0, Number.MAX_SAFE_INTEGER),
      direction,
      level: levelQuery(c),
      search: c.req.query('search') || undefined,
      limit: intQuery(c, 'limit', 1, maxLogLimit) ?? maxLogLimit,
    });
    return c.json({ logs: chosen.map((e) => ({ ...e, timestamp: iso(e.timestamp) })) });
  });
}
