// Throughput and latency of an HTTP server inside a sandbox, measured with wrk (50 connections)
// directly on the sandbox's veth address and through each proxy path, in the same run; and of an
// HTTPS server in the sandbox against the public HTTPS URL (TLS ended by the data plane).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sandbox } from 'novita-sandbox';
import { loadConfig } from '../src/config.js';
import { sandboxAddress } from '../test/support/sandbox-network.js';
import { haproxyPidOf } from '../test/support/processes.js';
import type { ServerProcess } from '../test/support/server-process.js';
import { startBareHaproxy } from './bare-haproxy.js';
import { cpuTicks, percentile, type Row, ticksPerSecond } from './stats.js';

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  p50Ms: number;
  requests: number;
}

/** A small Node server (the sandbox runs the host's node): one short answer per request. */
const serverCode = `require('node:http').createServer((req, res) => res.end('hello\\n')).listen(8000, '0.0.0.0');`;

/** Runs `code` with node in the background of the sandbox and waits until `url` says hello. */
async function startInSandbox(sbx: Sandbox, file: string, code: string, url: string): Promise<void> {
  await sbx.files.write(file, code);
  await sbx.commands.run(`/opt/sandcastle/node ${file}`, { background: true, timeoutMs: 0 });
  for (let i = 0; i < 100; i++) {
    if ((await sbx.commands.run(`curl -sk ${url} || true`)).stdout === 'hello\n') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bench server ${file} in the sandbox did not answer on ${url}`);
}

function startBenchServer(sbx: Sandbox): Promise<void> {
  return startInSandbox(sbx, '/tmp/bench-server.js', serverCode, 'http://localhost:8000/');
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

/** The same answer over HTTPS on 8443, with a certificate made for the run. */
const tlsServerCode = `const fs = require('node:fs');
require('node:https').createServer({ key: fs.readFileSync('/tmp/bench-key.pem'), cert: fs.readFileSync('/tmp/bench-cert.pem') }, (req, res) => res.end('hello\\n')).listen(8443, '0.0.0.0');`;

async function startTlsBenchServer(sbx: Sandbox): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-bench-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=bench', '-keyout', key, '-out', cert]);
    await sbx.files.write('/tmp/bench-key.pem', await readFile(key, 'utf8'));
    await sbx.files.write('/tmp/bench-cert.pem', await readFile(cert, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await startInSandbox(sbx, '/tmp/bench-tls-server.js', tlsServerCode, 'https://localhost:8443/');
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
  /** Through the floor's bare HAProxy. */
  viaBare: Median;
  /** Public-URL throughput over direct throughput, the median of the rounds' ratios. */
  publicShare: number;
  /** CPU the server process spent per request relayed through the public URL, in µs. */
  publicCpuUs: number;
}

type Median = Pick<WrkResult, 'rps' | 'p50Ms'>;

const median = (xs: number[]) => percentile(xs, 50);

/** The four ways in turn, `rounds` times, each figure the median of its rounds: interleaving keeps
 *  a passing load on the machine from favouring one of them, and the share of direct throughput
 *  is taken within each round. */
export async function compareProxies(
  direct: string,
  publicUrl: string,
  apiUrl: string,
  bareUrl: string,
  host: string,
  opts: { seconds: number; rounds: number; pids: number[] },
): Promise<Comparison> {
  const runs: Record<'direct' | 'viaPublic' | 'viaApi' | 'viaBare', WrkResult[]> = { direct: [], viaPublic: [], viaApi: [], viaBare: [] };
  const cpuUs: number[] = [];
  const ticksOf = () => opts.pids.reduce((n, pid) => n + cpuTicks(pid), 0);
  for (let i = 0; i < opts.rounds; i++) {
    runs.direct.push(await wrk(direct, opts.seconds));
    const ticks = ticksOf();
    const viaPublic = await wrk(publicUrl, opts.seconds, host);
    cpuUs.push((((ticksOf() - ticks) / ticksPerSecond) * 1e6) / viaPublic.requests);
    runs.viaPublic.push(viaPublic);
    runs.viaApi.push(await wrk(apiUrl, opts.seconds, host));
    runs.viaBare.push(await wrk(bareUrl, opts.seconds));
  }
  const pick = (rs: WrkResult[]) => ({ rps: median(rs.map((r) => r.rps)), p50Ms: median(rs.map((r) => r.p50Ms)) });
  return {
    direct: pick(runs.direct),
    viaPublic: pick(runs.viaPublic),
    viaApi: pick(runs.viaApi),
    viaBare: pick(runs.viaBare),
    publicShare: median(runs.viaPublic.map((r, i) => r.rps / runs.direct[i]!.rps)),
    publicCpuUs: median(cpuUs),
  };
}

/** HTTPS straight to a TLS server in the sandbox against the public HTTPS URL, interleaved. */
async function compareTls(direct: string, publicUrl: string, bareUrl: string, host: string, opts: { seconds: number; rounds: number }) {
  const directRuns: WrkResult[] = [];
  const publicRuns: WrkResult[] = [];
  const bareRuns: WrkResult[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    directRuns.push(await wrk(direct, opts.seconds));
    publicRuns.push(await wrk(publicUrl, opts.seconds, host));
    bareRuns.push(await wrk(bareUrl, opts.seconds));
  }
  return {
    direct: median(directRuns.map((r) => r.rps)),
    viaPublic: median(publicRuns.map((r) => r.rps)),
    viaBare: median(bareRuns.map((r) => r.rps)),
    share: median(publicRuns.map((r, i) => r.rps / directRuns[i]!.rps)),
  };
}

/** The public-URL rows: one sandbox serving HTTP on 8000 and HTTPS on 8443, reached directly, by
 *  its public URLs (ports 80 and 443) and by Host on the API port. */
export async function publicUrlRows(server: ServerProcess, opts: { seconds: number; rounds: number }): Promise<Row[]> {
  const web = await Sandbox.create();
  try {
    await startBenchServer(web);
    await startTlsBenchServer(web);
    const host = `8000-${web.sandboxId}.${loadConfig().domain}`;
    const address = sandboxAddress(web.sandboxId);
    const dataPlane = haproxyPidOf(server.dataDir);
    const pids = [server.child.pid!, ...(dataPlane ? [dataPlane] : [])];
    const bare = await startBareHaproxy(loadConfig().haproxyPath, address, 8000);
    try {
      const { direct, viaPublic, viaApi, viaBare, publicShare, publicCpuUs } = await compareProxies(`http://${address}:8000/`, 'http://127.0.0.1:80/', `${server.url}/`, bare.plainUrl, host, { ...opts, pids });
      const tls = await compareTls(`https://${address}:8443/`, 'https://127.0.0.1:443/', bare.tlsUrl, host, opts);
      const latency = viaPublic.p50Ms / direct.p50Ms;
      const ofBare = (ours: number, floor: number) => `${((ours / floor) * 100).toFixed(0)}% of the bare HAProxy`;
      return [
        { name: 'HTTP in a sandbox, direct on its veth address', unit: 'req/s', value: direct.rps },
        { name: 'HTTP in a sandbox, via public URL (port 80)', unit: 'req/s', value: viaPublic.rps, target: `≥ 90% of direct (${(publicShare * 100).toFixed(0)}%); ${ofBare(viaPublic.rps, viaBare.rps)}` },
        { name: 'floor: HTTP via a bare HAProxy (one frontend, one server, same threads)', unit: 'req/s', value: viaBare.rps, target: `${((viaBare.rps / direct.rps) * 100).toFixed(0)}% of direct; p50 ${viaBare.p50Ms.toFixed(2)} ms` },
        { name: `CPU per request through the public URL (server${dataPlane ? ' + HAProxy' : ''})`, unit: 'µs', value: publicCpuUs },
        { name: 'HTTP in a sandbox, via API port (Host routed)', unit: 'req/s', value: viaApi.rps },
        { name: 'HTTP in a sandbox, p50 latency direct / public / API port', unit: 'ms', value: direct.p50Ms, target: `${viaPublic.p50Ms.toFixed(2)} / ${viaApi.p50Ms.toFixed(2)}; public ≤ 1.2× direct (${latency.toFixed(2)}×)` },
        { name: 'HTTPS in a sandbox, direct to its TLS server', unit: 'req/s', value: tls.direct },
        { name: 'HTTPS in a sandbox, via public URL (port 443)', unit: 'req/s', value: tls.viaPublic, target: `≥ 80% of direct (${(tls.share * 100).toFixed(0)}%); ${ofBare(tls.viaPublic, tls.viaBare)}` },
        { name: 'floor: HTTPS via a bare HAProxy ending TLS (same threads)', unit: 'req/s', value: tls.viaBare, target: `${((tls.viaBare / tls.direct) * 100).toFixed(0)}% of direct` },
      ];
    } finally {
      await bare.stop();
    }
  } finally {
    await web.kill();
  }
}
