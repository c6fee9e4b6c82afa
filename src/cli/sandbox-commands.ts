// `sandcastle sandbox …`: list, inspect and kill sandboxes through the server's API.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Config, dataFiles, loadConfig } from '../config.js';

function apiUrl(config: Config): string {
  return process.env.NOVITA_API_URL || `http://${config.host}:${config.port}`;
}

/** The key the SDKs would send, else the one the server made at its first start. */
function apiKey(config: Config): string | undefined {
  const fromEnv = process.env.NOVITA_API_KEY || process.env.E2B_API_KEY;
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(dataFiles(config.dataDir).apiKey, 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function call(method: string, pathname: string): Promise<unknown> {
  const config = loadConfig();
  const url = apiUrl(config);
  const key = apiKey(config);
  const res = await fetch(`${url}${pathname}`, { method, headers: key ? { 'X-API-KEY': key } : {} }).catch((err: Error) => {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    throw new Error(`cannot reach the Sandcastle server at ${url} (${cause}); is \`sandcastle serve\` running?`);
  });
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? res.statusText;
    throw new Error(`${method} ${pathname}: ${res.status} ${message}`);
  }
  return body;
}

export function registerSandboxCommands(program: Command): void {
  const sandbox = program.command('sandbox').description('manage sandboxes of a running server');
  sandbox
    .command('list')
    .description('list running and paused sandboxes')
    .action(async () => {
      const items = (await call('GET', '/v2/sandboxes')) as Array<Record<string, unknown>>;
      for (const s of items) {
        console.log([s.sandboxID, s.templateID, s.state, s.startedAt, s.endAt, JSON.stringify(s.metadata)].join('\t'));
      }
    });
  sandbox
    .command('info <id>')
    .description('show one sandbox')
    .action(async (id: string) => {
      console.log(JSON.stringify(await call('GET', `/sandboxes/${encodeURIComponent(id)}`), null, 2));
    });
  sandbox
    .command('kill <id>')
    .description('kill a sandbox')
    .action(async (id: string) => {
      await call('DELETE', `/sandboxes/${encodeURIComponent(id)}`);
      console.log(`killed ${id}`);
    });
  sandbox
    .command('metrics <id>')
    .description('show the CPU, memory and disk samples of a sandbox (taken every 2 s)')
    .option('-f, --follow', 'keep printing new samples until the sandbox is gone')
    .action(async (id: string, opts: { follow?: boolean }) => {
      const path = `/sandboxes/${encodeURIComponent(id)}/metrics`;
      console.log(['timestamp', 'cpu', 'cpu %', 'memory MiB', 'disk MiB'].join('\t'));
      let last = -1;
      for (;;) {
        const samples = (await call('GET', last < 0 ? path : `${path}?start=${last + 1}`)) as MetricRow[];
        for (const m of samples) {
          console.log([m.timestamp, m.cpuCount, m.cpuUsedPct.toFixed(2), `${mib(m.memUsed)} / ${mib(m.memTotal)}`, `${mib(m.diskUsed)} / ${mib(m.diskTotal)}`].join('\t'));
          last = Math.max(last, m.timestampUnix);
        }
        if (!opts.follow) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
}

interface MetricRow {
  timestamp: string;
  timestampUnix: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
  diskTotal: number;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
