import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../store/database.js';
import { cachedHealth, checkHealth, type HealthDeps } from './health-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-health-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function deps(over: Partial<HealthDeps> = {}): HealthDeps {
  return {
    runtime: { name: 'fake', listRunning: async () => ['a', 'b'] },
    db: openDatabase(path.join(dir, `${Math.random().toString(36).slice(2)}.db`)),
    dataDir: dir,
    minFreeDiskMB: 1,
    ...over,
  };
}

describe('checkHealth', () => {
  it('is healthy with a runtime that answers, a database that reads and a disk with room', async () => {
    const report = await checkHealth(deps());
    assert.equal(report.healthy, true);
    assert.deepEqual(report.runtime, { healthy: true, name: 'fake', runningContainers: 2 });
    assert.deepEqual(report.database, { healthy: true });
    assert.equal(report.disk.healthy, true);
  });

  it('says which part failed and why', async () => {
    const db = openDatabase(path.join(dir, 'closed.db'));
    db.close();
    const report = await checkHealth(deps({
      runtime: { name: 'fake', listRunning: async () => Promise.reject(new Error('runc: permission denied')) },
      db,
      minFreeDiskMB: Number.MAX_SAFE_INTEGER / 2 ** 20,
    }));
    assert.equal(report.healthy, false);
    assert.match(report.runtime.error!, /^the runtime: runc: permission denied/);
    assert.match(report.database.error!, /^the database: /);
    assert.match(report.disk.error!, /less than the .* MiB kept free \(SANDCASTLE_MIN_FREE_DISK_MB\)/);
  });

  it('reports a data directory it cannot write to', async () => {
    const report = await checkHealth(deps({ dataDir: path.join(dir, 'missing') }));
    assert.equal(report.disk.healthy, false);
    assert.match(report.disk.error!, /^the data directory: .*ENOENT/);
  });

  it('includes the data plane when HAProxy relays the public URLs, unhealthy while it is down', async () => {
    assert.deepEqual((await checkHealth(deps({ dataPlane: { pid: () => 4242 } }))).dataPlane, { healthy: true, pid: 4242 });
    const down = await checkHealth(deps({ dataPlane: { pid: () => undefined } }));
    assert.equal(down.healthy, false);
    assert.match(down.dataPlane!.error!, /HAProxy .* is not running/);
    assert.equal((await checkHealth(deps())).dataPlane, undefined);
  });

  it('answers from the last report while it is fresh, so frequent probes run the checks once', async () => {
    let runs = 0;
    const health = cachedHealth(async () => {
      runs++;
      return checkHealth(deps());
    }, 60_000);
    await Promise.all([health(), health(), health()]);
    assert.equal(runs, 1);
    const stale = cachedHealth(async () => {
      runs++;
      return checkHealth(deps());
    }, 0);
    await stale();
    await stale();
    assert.equal(runs, 3);
  });
});
