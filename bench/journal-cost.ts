// What the lifecycle's durable writes add to a create: the database commits one create makes
// (its record, the journal's intent, the running state, the journal's outcome), timed as the
// server makes them (WAL, synchronous=NORMAL: each commit outlives a crash of the server) and with
// synchronous=OFF (the floor: no durability), in a database beside the server's on the same disk.
// A pause's saved-state record is synced to disk as well (synchronous=FULL): its row shows that.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../src/store/database.js';
import { OperationStore } from '../src/store/operation-store.js';
import { SandboxStore } from '../src/store/sandbox-store.js';
import { percentile, type Row } from './stats.js';

const creates = 200;

function createWrites(sync: 'NORMAL' | 'OFF', dir: string): number[] {
  const db = openDatabase(path.join(dir, `journal-${sync}.db`));
  if (sync === 'OFF') db.pragma('synchronous = OFF');
  const store = new SandboxStore(db);
  const operations = new OperationStore(db);
  const times: number[] = [];
  for (let i = 0; i < creates; i++) {
    const t0 = performance.now();
    const rec = store.insert({
      id: `j${i}`, templateId: 'base', alias: 'base', state: 'starting', envdToken: 't', metadata: {}, envVars: {}, cpuCount: 2,
      memoryMB: 512, diskSizeMB: 1024, startedAt: Date.now(), endAt: Date.now() + 300_000, autoPause: false, autoResume: false,
      allowInternetAccess: true, networkIndex: i, timeoutSeconds: 300, pausedAt: null, idleTimeoutSeconds: null, networkRules: null,
      layers: ['/l'], startCmd: null,
    });
    const op = operations.begin('create', rec.id, { templateId: 'base' });
    store.setState(rec.id, 'running');
    operations.finish(op, 'ok');
    times.push(performance.now() - t0);
  }
  db.close();
  return times;
}

function syncedCommitMs(dir: string): number {
  const db = openDatabase(path.join(dir, 'journal-synced.db'));
  const operations = new OperationStore(db);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    operations.durably(() => operations.begin('pause', `p${i}`, {}));
    times.push(performance.now() - t0);
  }
  db.close();
  return percentile(times, 50);
}

/** `dataDir`: a folder on the disk the server's database is on. */
export function journalCostRows(dataDir: string): Row[] {
  const dir = mkdtempSync(path.join(dataDir, 'journal-bench-'));
  try {
    const off = createWrites('OFF', dir);
    const normal = createWrites('NORMAL', dir);
    const added = percentile(normal, 50) - percentile(off, 50);
    return [
      { name: "a create's database writes (journal + states, as the server commits them)", unit: 'ms', p50: percentile(normal, 50), p95: percentile(normal, 95) },
      { name: "durable writes' addition to a create's p50 (NORMAL − OFF)", unit: 'ms', value: added, target: '≤ 2' },
      { name: "a pause's saved-state record synced to disk (synchronous=FULL)", unit: 'ms', p50: syncedCommitMs(dir) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
