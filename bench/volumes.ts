// Issue 12's volume figures: a 1 GiB file written into a volume through the volume content API
// (the e2b SDK's Volume.writeFile, streamed) and from inside a sandbox that mounts it (dd), beside
// `dd` of the same size into the data directory on the host, in the same run. Each write starts
// with the dirty pages of the one before flushed and ends on disk (dd's fdatasync; the content API
// syncs before it answers): a sandbox's page cache is limited by its memory, the host's is not.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Sandbox, Volume } from 'e2b';
import { runCommand } from '../src/runtime/run-command.js';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { type Row } from './stats.js';

const mib = 1024;
/** Rounds, the first not counted. A VM disk makes the write after a large one pay for it, so the
 *  order turns each round and each path takes each place once in the counted ones (their mean is
 *  reported). Every file is kept until the end: removing one makes the next write pay for its
 *  discard on a file system mounted with `discard`. */
const rounds = 4;

function zeros(totalMiB: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < totalMiB) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function timed(work: () => Promise<unknown>): Promise<number> {
  await runCommand('sync', []);
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

export async function volumeWriteRows(): Promise<Row[]> {
  const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_MEMORY_MB: '2048' } });
  useServer(server);
  process.env.E2B_VOLUME_API_URL = server.url;
  try {
    const vol = await Volume.create('bench-volume');
    const sbx = await Sandbox.create({ volumeMounts: { '/mnt/bench': vol }, timeoutMs: 600_000 });
    const host = (i: number) => path.join(server.dataDir, `bench-host-write-${i}`);
    const figures = { host: [] as number[], api: [] as number[], sandbox: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const writes: Array<[number[], () => Promise<unknown>]> = [
        [figures.host, () => runCommand('dd', ['if=/dev/zero', `of=${host(i)}`, 'bs=1M', `count=${mib}`, 'conv=fdatasync'], { quiet: true })],
        [figures.api, () => vol.writeFile(`/api-${i}.bin`, zeros(mib))],
        [figures.sandbox, () => sbx.commands.run(`dd if=/dev/zero of=/mnt/bench/sbx-${i}.bin bs=1M count=${mib} conv=fdatasync 2>/dev/null`)],
      ];
      for (let k = 0; k < writes.length; k++) {
        const [list, write] = writes[(i + k) % writes.length]!;
        const ms = await timed(write);
        if (i > 0) list.push(ms);
      }
    }
    for (let i = 0; i < rounds; i++) await rm(host(i), { force: true });
    await sbx.kill();
    await Volume.destroy(vol.volumeId);
    const rate = (ms: number) => mib / (ms / 1000);
    const hostRate = rate(mean(figures.host));
    const share = (ms: number) => `≥ 70% of host dd (${((rate(ms) / hostRate) * 100).toFixed(0)}%)`;
    return [
      { name: `floor: ${mib} MiB dd into the data directory (host)`, unit: 'MiB/s', value: hostRate },
      { name: `volume: ${mib} MiB through the content API (Volume.writeFile)`, unit: 'MiB/s', value: rate(mean(figures.api)), target: share(mean(figures.api)) },
      { name: `volume: ${mib} MiB dd inside a sandbox mounting it`, unit: 'MiB/s', value: rate(mean(figures.sandbox)), target: share(mean(figures.sandbox)) },
    ];
  } finally {
    delete process.env.E2B_VOLUME_API_URL;
    await disposeServer(server);
  }
}

// `node --import tsx bench/volumes.ts` runs these rows alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  printTable(await volumeWriteRows());
}
