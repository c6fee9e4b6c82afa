// Issue 11's figures: what the walls cost (create, pause and resume with user namespaces and disk
// quotas on, beside the same server with both off, in the same run) and how much an abusive
// sandbox slows its neighbour (`commands.run('true')` p95 while a fork bomb, a memory bomb or a
// disk fill runs next door, beside the quiet figure).
import { Sandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { holdMemory, timed } from './persistence.js';
import { percentile, type Row } from './stats.js';

const createRounds = 20;
const pauseRounds = 5;
const neighbourRuns = 50;

/** The walls off: the comparison this setting exists for, nothing else. */
const wallsOff = { SANDCASTLE_USERNS: '0', SANDCASTLE_DISK_QUOTA: '0' };

interface WallFigures {
  create: number[];
  pause: number[];
  resume: number[];
}

async function wallFigures(env: NodeJS.ProcessEnv): Promise<WallFigures> {
  // Pool off and cold pauses: every create boots and every resume restores, the paths the walls
  // (user namespace, disk) could slow down.
  const server = await startServerProcess({ prepared: true, env: { ...env, SANDCASTLE_WARM_POOL: '0', SANDCASTLE_WARM_PAUSED_MAX: '0' } });
  useServer(server);
  try {
    const figures: WallFigures = { create: [], pause: [], resume: [] };
    // Warm-up: the first create of a server pays for cold caches on both sides.
    await (await Sandbox.create()).kill();
    for (let i = 0; i < createRounds; i++) {
      let sbx: Sandbox | undefined;
      figures.create.push(await timed(async () => {
        sbx = await Sandbox.create();
        await sbx.commands.run('true');
      }));
      await sbx!.kill();
    }
    const sbx = await Sandbox.create({ timeoutMs: 600_000 });
    await holdMemory(sbx, 100);
    for (let i = 0; i < pauseRounds; i++) {
      figures.pause.push(await timed(() => sbx.betaPause()));
      figures.resume.push(await timed(async () => {
        await sbx.connect();
        await sbx.commands.run('true');
      }));
    }
    await sbx.kill();
    return figures;
  } finally {
    await disposeServer(server);
  }
}

export async function wallCostRows(): Promise<Row[]> {
  const on = await wallFigures({});
  const off = await wallFigures(wallsOff);
  const row = (name: string, a: number[], b: number[]): Row[] => [
    { name: `${name}, user namespaces + disk quota on`, unit: 'ms', p50: percentile(a, 50), p95: percentile(a, 95), target: `p50 ≤ 1.1× off (${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}×)` },
    { name: `${name}, both off (same run)`, unit: 'ms', p50: percentile(b, 50), p95: percentile(b, 95) },
  ];
  return [
    ...row(`create → first command, pool off (${createRounds})`, on.create, off.create),
    ...row(`pause, cold, 100 MiB (${pauseRounds})`, on.pause, off.pause),
    ...row(`resume → first command, cold, 100 MiB (${pauseRounds})`, on.resume, off.resume),
  ];
}

async function neighbourTrips(neighbour: Sandbox): Promise<number[]> {
  const trips: number[] = [];
  for (let i = 0; i < neighbourRuns; i++) trips.push(await timed(() => neighbour.commands.run('true')));
  return trips;
}

/** Abuses that keep going until their sandbox is killed; each waits until it bites. */
const abuses: Array<{ name: string; start(sbx: Sandbox): Promise<void> }> = [
  {
    name: 'fork bomb',
    async start(sbx) {
      await sbx.commands.run(':(){ :|:& };:', { background: true });
      await new Promise((r) => setTimeout(r, 2000));
    },
  },
  {
    name: 'memory bomb (OOM-killed over and over)',
    async start(sbx) {
      await sbx.commands.run("while true; do python3 -c 'a = []\nwhile True: a.append(bytearray(32 << 20))'; done", { background: true });
      await new Promise((r) => setTimeout(r, 2000));
    },
  },
  {
    name: 'disk fill (up to its quota, over and over)',
    async start(sbx) {
      await sbx.commands.run('while true; do dd if=/dev/zero of=/home/user/fill bs=1M status=none; rm -f /home/user/fill; done', { background: true });
      await new Promise((r) => setTimeout(r, 2000));
    },
  },
];

export async function neighbourRows(): Promise<Row[]> {
  // A small disk quota, so the fill reaches it (and starts over) within the measurement.
  const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_DISK_MB: '512' } });
  useServer(server);
  const rows: Row[] = [];
  try {
    const neighbour = await Sandbox.create({ timeoutMs: 600_000 });
    await neighbourTrips(neighbour); // warm-up: envd's first calls pay for its JIT
    const quiet = await neighbourTrips(neighbour);
    rows.push({ name: "neighbour's commands.run('true'), quiet", unit: 'ms', p50: percentile(quiet, 50), p95: percentile(quiet, 95) });
    for (const abuse of abuses) {
      const abuser = await Sandbox.create({ timeoutMs: 600_000 });
      try {
        await abuse.start(abuser);
        const during = await neighbourTrips(neighbour);
        const ratio = percentile(during, 95) / percentile(quiet, 95);
        rows.push({ name: `neighbour's commands.run('true'), during a ${abuse.name}`, unit: 'ms', p50: percentile(during, 50), p95: percentile(during, 95), target: `p95 ≤ 2× quiet (${ratio.toFixed(2)}×)` });
      } finally {
        await abuser.kill();
      }
    }
    await neighbour.kill();
    return rows;
  } finally {
    await disposeServer(server);
  }
}
