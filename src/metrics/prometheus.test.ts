import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { errors } from '../errors.js';
import { causeOf, maxTemplateLabels, PrometheusMetrics, type PrometheusSources } from './prometheus.js';
import { RelayMeter } from './prometheus-hooks.js';

function sources(over: Partial<PrometheusSources> = {}): PrometheusSources {
  return {
    sandboxCounts: () => [],
    latestSamples: () => [],
    buildsInProgress: () => 0,
    warmPausedCounts: () => [],
    relays: { api: new RelayMeter(), public: new RelayMeter() },
    warmPoolTarget: 2,
    ...over,
  };
}

const lines = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix));

describe('PrometheusMetrics', () => {
  it("counts a failed operation by its catalogue code, and an error outside it as UNKNOWN", async () => {
    const m = new PrometheusMetrics(sources());
    m.operation('pause', 12, errors.pauseFailed('s1', new Error('criu')));
    m.operation('create', 5, new Error('a bug'));
    m.operation('create', 80, undefined);
    const text = await m.scrape();
    assert.deepEqual(lines(text, 'sandcastle_operation_errors_total'), [
      'sandcastle_operation_errors_total{operation="pause",cause="PAUSE_FAILED"} 1',
      'sandcastle_operation_errors_total{operation="create",cause="UNKNOWN"} 1',
    ]);
    assert.deepEqual(lines(text, 'sandcastle_operation_duration_seconds_count'), ['sandcastle_operation_duration_seconds_count{operation="create"} 1']);
    assert.equal(causeOf(errors.overCapacity('x')), 'OVER_CAPACITY');
  });

  it('names at most maxTemplateLabels templates, the rest as other', async () => {
    const counts = Array.from({ length: maxTemplateLabels + 5 }, (_, i) => ({ state: 'running', templateId: `t${i}`, count: i + 1 }));
    const text = await new PrometheusMetrics(sources({ sandboxCounts: () => counts })).scrape();
    const series = lines(text, 'sandcastle_sandboxes{');
    assert.equal(series.length, maxTemplateLabels + 1);
    // The five smallest (1..5 sandboxes) are summed.
    assert.ok(series.includes('sandcastle_sandboxes{state="running",template="other"} 15'), series.join('\n'));
  });

  it('counts warm-paused sandboxes by template beside paused sandboxes of either kind', async () => {
    const m = new PrometheusMetrics(sources({
      sandboxCounts: () => [{ state: 'paused', templateId: 'base', count: 3 }],
      warmPausedCounts: () => [{ templateId: 'base', count: 2 }],
    }));
    const text = await m.scrape();
    assert.deepEqual(lines(text, 'sandcastle_sandboxes{'), ['sandcastle_sandboxes{state="paused",template="base"} 3']);
    assert.deepEqual(lines(text, 'sandcastle_warm_paused_sandboxes'), ['sandcastle_warm_paused_sandboxes{template="base"} 2']);
    assert.deepEqual(lines(await new PrometheusMetrics(sources()).scrape(), 'sandcastle_warm_paused_sandboxes'), []);
  });

  it('shows per-sandbox series only for the samples given, and drops them when they go', async () => {
    let rows = [{ sandboxId: 'a1', templateId: 'base', cpuUsedPct: 25, memUsed: 1, memTotal: 2, diskUsed: 3 }];
    const m = new PrometheusMetrics(sources({ latestSamples: () => rows }));
    assert.deepEqual(lines(await m.scrape(), 'sandcastle_sandbox_cpu_used_ratio'), ['sandcastle_sandbox_cpu_used_ratio{sandbox_id="a1",template="base"} 0.25']);
    rows = [];
    assert.deepEqual(lines(await m.scrape(), 'sandcastle_sandbox_cpu_used_ratio'), []);
  });
});

describe('RelayMeter', () => {
  it('counts the bytes each side of a spliced connection read, open and after close', async () => {
    const server = net.createServer((s) => s.pipe(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const meter = new RelayMeter();
    // A client-side pair standing for client and upstream: both read what the echo sends back.
    const a = net.connect(port, '127.0.0.1');
    const b = net.connect(port, '127.0.0.1');
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    meter.splice(a, b);
    a.write('hello');
    b.write('hi');
    await Promise.all([once(a, 'data'), once(b, 'data')]);
    assert.deepEqual(meter.figures(), { opened: 1, open: 1, toSandbox: 5, fromSandbox: 2 });
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    assert.deepEqual(meter.figures(), { opened: 1, open: 0, toSandbox: 5, fromSandbox: 2 });
    server.close();
  });
});
