// The web console's speed in headless chromium: the sandbox table's first load with 500 sandboxes
// listed (paused records, see test/support/console-load.ts), and how long after its sample a chart
// point reaches a sandbox's page.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { installDir } from '../src/config.js';
import { addPausedRecords, firstLoadMs } from '../test/support/console-load.js';
import { apiFetch, disposeServer, startServerProcess } from '../test/support/server-process.js';
import { percentile, type Row } from './stats.js';

const loads = 10;
const lagSamples = 10;

export async function consoleLoadRows(): Promise<Row[]> {
  execFileSync(process.execPath, [path.join(installDir, 'scripts/bundle-console.mjs')], { stdio: 'ignore' });
  const server = await startServerProcess({ prepared: true });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}/dashboard/login`);
    await page.fill('#key', server.apiKey);
    await Promise.all([page.waitForURL(`${server.url}/dashboard`), page.click('button[type=submit]')]);

    const remove = addPausedRecords(server.dataDir, 500);
    const times: number[] = [];
    try {
      await firstLoadMs(page, server.url, 500);
      for (let i = 0; i < loads; i++) times.push(await firstLoadMs(page, server.url, 500));
    } finally {
      remove();
    }

    const res = await apiFetch(server, '/sandboxes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ templateID: 'base', timeout: 300 }) });
    const { sandboxID } = (await res.json()) as { sandboxID: string };
    await page.goto(`${server.url}/dashboard/inspect/sandbox/${sandboxID}`);
    const lags: number[] = [];
    let last = '';
    while (lags.length < lagSamples) {
      const lag = (await page.locator('main').getAttribute('data-sample-lag-ms')) ?? '';
      const points = (await page.locator('[data-chart=cpu]').getAttribute('data-points')) ?? '';
      if (lag && `${points}/${lag}` !== last) {
        // The first batch is the page's history, not a live update.
        if (last !== '') lags.push(Number(lag));
        last = `${points}/${lag}`;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return [
      { name: 'console first load, 500 sandboxes listed (chromium, loopback)', unit: 'ms', p50: percentile(times, 50), p95: percentile(times, 95), target: '≤ 1000' },
      { name: 'console chart point after its sample (2 s samples)', unit: 'ms', p50: percentile(lags, 50), p95: percentile(lags, 95), target: '≤ 2500' },
    ];
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await disposeServer(server);
  }
}
