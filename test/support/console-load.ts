// The console's first load with many sandboxes listed, for the browser test and the bench: paused
// sandbox records written straight into a running server's database (500 real sandboxes do not
// fit this machine; a paused record needs no container, and the server lists it like any other),
// then the time from navigation until the table shows them all.
import type { Page } from 'playwright-core';
import { dataFiles } from '../../src/config.js';
import { openDatabase } from '../../src/store/database.js';
import { SandboxStore } from '../../src/store/sandbox-store.js';

/** Adds `count` paused sandbox records; returns a function that removes them again. */
export function addPausedRecords(dataDir: string, count: number): () => void {
  const db = openDatabase(dataFiles(dataDir).database);
  const store = new SandboxStore(db);
  const now = Date.now();
  const ids: string[] = [];
  const templates = ['base', 'code-interpreter-v1', 'py-data', 'node-web'];
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `consoleload${String(i).padStart(8, '0')}`;
      ids.push(id);
      store.insert({
        id, templateId: templates[i % templates.length]!, alias: null, state: 'paused', envdToken: `token-${i}`,
        metadata: { user: `u${i % 37}`, job: `j${i}` }, envVars: {}, cpuCount: 2, memoryMB: 512, diskSizeMB: 1024,
        startedAt: now - i * 1000, endAt: now + 3_600_000, autoPause: true, autoResume: false, allowInternetAccess: true,
        networkIndex: null, timeoutSeconds: 3600, pausedAt: now, idleTimeoutSeconds: null, networkRules: null, layers: [], startCmd: null,
      });
    }
  })();
  return () => {
    db.transaction(() => ids.forEach((id) => store.delete(id)))();
    db.close();
  };
}

/** Milliseconds from a navigation to the sandbox table until it shows at least `rows` rows (the
 *  page must be signed in). */
export async function firstLoadMs(page: Page, url: string, rows: number): Promise<number> {
  const t0 = performance.now();
  await page.goto(`${url}/dashboard`);
  await page.waitForFunction((n) => document.querySelectorAll('table.sandboxes tbody tr[data-id]').length >= n, rows, { timeout: 30_000, polling: 'raf' });
  return performance.now() - t0;
}
