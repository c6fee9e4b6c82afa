// Sandbox metrics: sampled at start, every interval and before deletion; served by
// GET /sandboxes/{id}/metrics, the SDK's getMetrics(), the product page's example and the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Sandbox } from 'novita-sandbox';
import { dataFiles, installDir } from '../src/config.js';
import { apiFetch, useTestServer } from './support/server-process.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const intervalMs = 500;

// A short interval keeps the test quick; the product's 2 s is the default.
const server = useTestServer({ env: { SANDCASTLE_METRICS_INTERVAL_MS: String(intervalMs) } }).current;

describe('sandbox metrics', () => {
  it('the product page example prints at least two samples', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(installDir, 'test/product-examples/sandbox-metrics--1-getting-sandbox-metrics-using-the-sdks.ts')], {
      cwd: installDir,
      env: { ...process.env },
      timeout: 120_000,
    });
    assert.match(stdout, /Sandbox created [a-z0-9]{20}/);
    const samples = stdout.slice(stdout.indexOf('Sandbox metrics:')).match(/cpuCount: 2/g) ?? [];
    assert.ok(samples.length >= 2, stdout);
    assert.match(stdout, /memTotal: 536870912/);
  });

  it('samples carry every field, follow CPU and disk use, filter by time and go with the sandbox', async () => {
    const sbx = await Sandbox.create();
    try {
      const first = await sbx.getMetrics();
      assert.ok(first.length >= 1, 'a sample is taken when the sandbox starts');
      const res = await apiFetch(server(), `/sandboxes/${sbx.sandboxId}/metrics`);
      assert.equal(res.status, 200);
      const raw = ((await res.json()) as Array<Record<string, unknown>>)[0]!;
      assert.deepEqual(Object.keys(raw).sort(), ['cpuCount', 'cpuUsedPct', 'diskTotal', 'diskUsed', 'memCache', 'memTotal', 'memUsed', 'timestamp', 'timestampUnix'].sort());
      assert.equal(raw.timestampUnix, Math.floor(Date.parse(raw.timestamp as string) / 1000));
      assert.equal(raw.memTotal, 512 * MiB);
      assert.equal(raw.diskTotal, 20480 * MiB);
      assert.ok((raw.memUsed as number) > 1 * MiB && (raw.memUsed as number) < 512 * MiB, `memUsed ${raw.memUsed}`);

      // One CPU of two kept busy reads about 50 %.
      await sbx.commands.run('timeout 3 sh -c "while :; do :; done"; true', { timeoutMs: 10_000 });
      const busy = await waitFor('a busy sample', () => sbx.getMetrics(), (m) => m.some((s) => s.cpuUsedPct > 35));
      assert.ok(busy.every((s) => s.cpuUsedPct <= 100));

      const before = busy[busy.length - 1]!.diskUsed;
      await sbx.commands.run('head -c 8M /dev/urandom > /home/user/blob && sync');
      await waitFor('disk use to grow by 8 MiB', () => sbx.getMetrics(), (m) => m[m.length - 1]!.diskUsed >= before + 8 * MiB);

      // The SDK sends whole seconds (rounded); `end` covers its whole second.
      const all = await sbx.getMetrics();
      const mid = new Date(Math.round(all[Math.floor(all.length / 2)]!.timestamp.getTime() / 1000) * 1000);
      const later = await sbx.getMetrics({ start: mid });
      assert.deepEqual(later, all.filter((s) => s.timestamp >= mid));
      const earlier = await sbx.getMetrics({ end: mid });
      assert.deepEqual(earlier, all.filter((s) => s.timestamp.getTime() < mid.getTime() + 1000));
      assert.ok(later.length > 0 && earlier.length > 0 && later.length < all.length, `${later.length} ${earlier.length} ${all.length}`);

      const cli = await run(process.execPath, ['--import', 'tsx', path.join(installDir, 'src/cli/main.ts'), 'sandbox', 'metrics', sbx.sandboxId], {
        cwd: installDir,
        env: { ...process.env, NOVITA_API_URL: server().url },
      });
      // One line per sample, shaped as the e2b CLI prints them (test/cli.test.ts has the rest).
      const rows = cli.stdout.trim().split('\n');
      assert.ok(rows.length >= all.length, cli.stdout);
      for (const row of rows) assert.match(row, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\] CPU: +[\d.]+% \/ 2 cores \| Memory: +\d+ \/ 512 MiB \| Disk: +\d+ \/ 20480 MiB$/);
    } finally {
      await sbx.kill();
    }
    const gone = await apiFetch(server(), `/sandboxes/${sbx.sandboxId}/metrics`);
    assert.equal(gone.status, 404);
    assert.deepEqual(await gone.json(), { code: 404, message: `sandbox '${sbx.sandboxId}' not found` });
    const db = new Database(dataFiles(server().dataDir).database, { readonly: true });
    try {
      const left = db.prepare('SELECT COUNT(*) AS n FROM sandbox_metrics WHERE sandbox_id = ?').get(sbx.sandboxId) as { n: number };
      assert.equal(left.n, 0, 'samples are deleted with their sandbox');
    } finally {
      db.close();
    }
  });

  it('an unknown sandbox is a 404, and a bad time a 400', async () => {
    const res = await apiFetch(server(), `/sandboxes/nosuchsandbox/metrics`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: 404, message: "sandbox 'nosuchsandbox' not found" });
    const sbx = await Sandbox.create();
    try {
      const bad = await apiFetch(server(), `/sandboxes/${sbx.sandboxId}/metrics?start=yesterday`);
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /start must be a unix time/);
    } finally {
      await sbx.kill();
    }
  });
});
