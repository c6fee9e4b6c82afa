// Throughput and latency of an HTTP server inside a sandbox, measured with wrk (50 connections)
// directly on the sandbox's veth address and through each proxy path, in the same run.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Sandbox } from 'novita-sandbox';
import { cpuTicks, percentile, ticksPerSecond } from './stats.js';

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  p50Ms: number;
  requests: number;
}

/** A small Node server (the sandbox runs the host's node): one short answer per request. */
const serverCode = `require('node:http').createServer((req, res) => res.end('hello\\n')).listen(8000, '0.0.0.0');`;

export async function startBenchServer(sbx: Sandbox): Promise<void> {
  await sbx.files.write('/tmp/bench-server.js', serverCode);
  await sbx.commands.run('/opt/sandcastle/node /tmp/bench-server.js', { background: true, timeoutMs: 0 });
  for (let i = 0; i < 100; i++) {
    if ((await sbx.commands.run('curl -s localhost:8000/ || true')).stdout === 'hello\n') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('bench server in the sandbox did not start');
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

/** wrk with 2 threads and 50 connections for `seconds`; Host header when given. */
async function wrk(url: string, seconds: number, host?: string): Promise<WrkResult> {
  const args = ['-t2', '-c50', `-d${seconds}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  const { stdout } = await run('wrk', args, { timeout: (seconds + 30) * 1000 });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const requests = /(\d+) requests in/.exec(stdout);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)$/m.exec(stdout);
  if (!rps || !p50 || !requests) throw new Error(`cannot read wrk's output:\n${stdout}`);
  if (/Non-2xx or 3xx responses/.test(stdout) || /Socket errors/.test(stdout)) throw new Error(`wrk saw errors for ${url}:\n${stdout}`);
  return { rps: Number(rps[1]), p50Ms: toMs(p50[1]!, p50[2]!), requests: Number(requests[1]) };
}

export interface Comparison {
  direct: Median;
  viaPublic: Median;
  viaApi: Median;
  /** Public-URL throughput over direct throughput, the median of the rounds' ratios. */
  publicShare: number;
  /** CPU the server process spent per request relayed through the public URL, in µs. */
  publicCpuUs: number;
}

type Median = Pick<WrkResult, 'rps' | 'p50Ms'>;

const median = (xs: number[]) => percentile(xs, 50);

/** The three ways in turn, `rounds` times, each figure the median of its rounds: interleaving keeps
 *  a passing load on the machine from favouring one of them, and the share of direct throughput
 *  is taken within each round. */
export async function compareProxies(
  direct: string,
  publicUrl: string,
  apiUrl: string,
  host: string,
  opts: { seconds: number; rounds: number; serverPid: number },
): Promise<Comparison> {
  const runs: Record<'direct' | 'viaPublic' | 'viaApi', WrkResult[]> = { direct: [], viaPublic: [], viaApi: [] };
  const cpuUs: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    runs.direct.push(await wrk(direct, opts.seconds));
    const ticks = cpuTicks(opts.serverPid);
    const viaPublic = await wrk(publicUrl, opts.seconds, host);
    cpuUs.push((((cpuTicks(opts.serverPid) - ticks) / ticksPerSecond) * 1e6) / viaPublic.requests);
    runs.viaPublic.push(viaPublic);
    runs.viaApi.push(await wrk(apiUrl, opts.seconds, host));
  }
  const pick = (rs: WrkResult[]) => ({ rps: median(rs.map((r) => r.rps)), p50Ms: median(rs.map((r) => r.p50Ms)) });
  return {
    direct: pick(runs.direct),
    viaPublic: pick(runs.viaPublic),
    viaApi: pick(runs.viaApi),
    publicShare: median(runs.viaPublic.map((r, i) => r.rps / runs.direct[i]!.rps)),
    publicCpuUs: median(cpuUs),
  };
}
