// GET /metrics and GET /health on the real server, with sandboxes driven by the unmodified
// novita-sandbox SDK: the text parses as Prometheus exposition, the counters move with create,
// pause, resume and kill, no key, token, environment variable or metadata value shows, and
// /health answers without a key while envd's own /health stays on the sandbox traffic path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sandbox } from 'novita-sandbox';
import { apiFetch, useTestServer } from './support/server-process.js';

const server = useTestServer();

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/** The Prometheus text format (0.0.4), strictly: every sample belongs to a family with a TYPE. */
function parseExposition(text: string): Series[] {
  const types = new Map<string, string>();
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      assert.ok(m, `malformed comment line: ${line}`);
      if (m[1] === 'TYPE') {
        assert.match(m[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = sampleLine.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelPair.lastIndex = 0;
      let at = 0;
      while (at < m[2].length) {
        labelPair.lastIndex = at;
        const l = labelPair.exec(m[2]);
        assert.ok(l, `malformed labels in: ${line}`);
        labels[l[1]!] = l[2]!;
        at = labelPair.lastIndex;
      }
    }
    // Go's ParseFloat, which Prometheus reads values with, takes NaN and Inf in any case.
    const raw = m[3]!;
    const value = /^nan$/i.test(raw) ? NaN : /^[+-]?inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(raw), `bad value in: ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count|total|created)$/, '');
    assert.ok(types.has(m[1]!) || types.has(family), `sample without a TYPE: ${line}`);
    series.push({ name: m[1]!, labels, value });
  }
  return series;
}

async function scrape(): Promise<{ text: string; series: Series[] }> {
  const res = await fetch(`${server.current().url}/metrics`, { headers: { Authorization: `Bearer ${server.current().apiKey}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, series: parseExposition(text) };
}

function value(series: Series[], name: string, labels: Record<string, string> = {}): number {
  return series
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('/metrics', () => {
  it('needs the API key, as X-API-KEY or a bearer token', async () => {
    const { url, apiKey } = server.current();
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { Authorization: 'Bearer not-a-key' } })).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { 'X-API-KEY': apiKey } })).status, 200);
  });

  it('moves with create, pause, resume and kill, and shows no secret', async () => {
    const before = (await scrape()).series;
    const secretEnv = 'prom-env-value-7f3a9c';
    const secretMeta = 'prom-meta-value-41d2e8';
    const sbx = await Sandbox.create({ envs: { PROM_SECRET: secretEnv }, metadata: { owner: secretMeta } });
    try {
      assert.equal(await sbx.isRunning(), true, "envd's /health, asked with the sandbox headers, still reaches envd");
      await sbx.commands.run('echo hi');
      const running = await until('the sandbox running with a sample', async () => {
        const { series } = await scrape();
        return value(series, 'sandcastle_sandbox_memory_used_bytes', { sandbox_id: sbx.sandboxId }) > 0 ? series : undefined;
      });
      assert.ok(value(running, 'sandcastle_sandboxes', { state: 'running' }) >= 1);
      assert.equal(
        value(running, 'sandcastle_operation_duration_seconds_count', { operation: 'create' }),
        value(before, 'sandcastle_operation_duration_seconds_count', { operation: 'create' }) + 1,
      );
      const limit = value(running, 'sandcastle_sandbox_memory_limit_bytes', { sandbox_id: sbx.sandboxId });
      assert.ok(limit > 0, 'the memory limit is shown');
      const cpu = value(running, 'sandcastle_sandbox_cpu_used_ratio', { sandbox_id: sbx.sandboxId });
      assert.ok(cpu >= 0 && cpu <= 1, `cpu ratio ${cpu}`);
      assert.ok(value(running, 'sandcastle_proxy_connections_total', { proxy: 'api' }) > value(before, 'sandcastle_proxy_connections_total', { proxy: 'api' }));
      // Once the server has handed the sandbox to HAProxy, its calls are counted from HAProxy's
      // counters, read every 2 s.
      await until('bytes from the sandbox counted', async () => {
        const { series } = await scrape();
        return value(series, 'sandcastle_proxy_bytes_total', { proxy: 'api', direction: 'from_sandbox' }) > 0 ? true : undefined;
      });

      assert.equal(await sbx.betaPause(), true);
      const paused = (await scrape()).series;
      assert.equal(value(paused, 'sandcastle_operation_duration_seconds_count', { operation: 'pause' }), value(before, 'sandcastle_operation_duration_seconds_count', { operation: 'pause' }) + 1);
      assert.ok(value(paused, 'sandcastle_sandboxes', { state: 'paused' }) >= 1);
      assert.equal(value(paused, 'sandcastle_sandbox_memory_used_bytes', { sandbox_id: sbx.sandboxId }), 0, 'a paused sandbox has no per-sandbox series');

      await sbx.connect();
      const resumed = (await scrape()).series;
      assert.equal(value(resumed, 'sandcastle_operation_duration_seconds_count', { operation: 'resume' }), value(before, 'sandcastle_operation_duration_seconds_count', { operation: 'resume' }) + 1);

      const info = (await (await apiFetch(server.current(), `/sandboxes/${sbx.sandboxId}`)).json()) as { envdAccessToken?: string };
      const { text } = await scrape();
      for (const secret of [server.current().apiKey, secretEnv, secretMeta, info.envdAccessToken]) {
        if (secret) assert.ok(!text.includes(secret), `the scrape shows a secret (${secret.slice(0, 6)}…)`);
      }
      const samples = text.split('\n').filter((l) => !l.startsWith('#'));
      assert.ok(!samples.some((l) => /PROM_SECRET|SANDCASTLE_|NOVITA_API_KEY|E2B_API_KEY/.test(l)), 'no environment variable in a sample either');
    } finally {
      await sbx.kill();
    }
    const killed = (await scrape()).series;
    assert.equal(value(killed, 'sandcastle_operation_duration_seconds_count', { operation: 'kill' }), value(before, 'sandcastle_operation_duration_seconds_count', { operation: 'kill' }) + 1);
    assert.equal(value(killed, 'sandcastle_sandboxes', { state: 'running' }), value(before, 'sandcastle_sandboxes', { state: 'running' }));
  });

  it('shows the warm pools and their target', async () => {
    const series = await until('the warm pool filled', async () => {
      const { series } = await scrape();
      return value(series, 'sandcastle_warm_pool_sandboxes') > 0 ? series : undefined;
    });
    assert.ok(value(series, 'sandcastle_warm_pool_target') >= 1);
    assert.equal(value(series, 'sandcastle_warm_pool_sandboxes'), value(series, 'sandcastle_sandboxes', { state: 'pooled' }));
  });
});

describe('/health', () => {
  it('answers without a key, with the runtime, the database and the disk', async () => {
    const res = await fetch(`${server.current().url}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, { healthy: boolean } | boolean>;
    assert.equal(body.healthy, true);
    for (const part of ['runtime', 'database', 'disk'] as const) assert.equal((body[part] as { healthy: boolean }).healthy, true, part);
  });

  it('leaves /health with the sandbox headers to the sandbox', async () => {
    const res = await fetch(`${server.current().url}/health`, { headers: { 'E2b-Sandbox-Id': 'nosuchsandbox', 'E2b-Sandbox-Port': '49983' } });
    assert.equal(res.status, 502, 'sandbox traffic for an unknown sandbox, not the server health');
    await res.body?.cancel();
  });
});
