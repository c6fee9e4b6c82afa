// Throughput and latency of an HTTP server inside a sandbox, measured with wrk (50 connections)
// directly on the sandbox's veth address and through each proxy path, in the same run.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Sandbox } from 'novita-sandbox';

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  p50Ms: number;
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
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)$/m.exec(stdout);
  if (!rps || !p50) throw new Error(`cannot read wrk's output:\n${stdout}`);
  if (/Non-2xx or 3xx responses/.test(stdout) || /Socket errors/.test(stdout)) throw new Error(`wrk saw errors for ${url}:\n${stdout}`);
  return { rps: Number(rps[1]), p50Ms: toMs(p50[1]!, p50[2]!) };
}

export interface Comparison {
  direct: WrkResult;
  viaPublic: WrkResult;
  viaApi: WrkResult;
}

/** The three ways in turn, `rounds` times, each figure the median of its rounds: interleaving keeps
 *  a passing load on the machine from favouring one of them. */
export async function compareProxies(direct: string, publicUrl: string, apiUrl: string, host: string, seconds: number, rounds: number): Promise<Comparison> {
  const runs: Record<keyof Comparison, WrkResult[]> = { direct: [], viaPublic: [], viaApi: [] };
  for (let i = 0; i < rounds; i++) {
    runs.direct.push(await wrk(direct, seconds));
    runs.viaPublic.push(await wrk(publicUrl, seconds, host));
    runs.viaApi.push(await wrk(apiUrl, seconds, host));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pick = (rs: WrkResult[]) => ({ rps: median(rs.map((r) => r.rps)), p50Ms: median(rs.map((r) => r.p50Ms)) });
  return { direct: pick(runs.direct), viaPublic: pick(runs.viaPublic), viaApi: pick(runs.viaApi) };
}

