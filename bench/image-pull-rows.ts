// Image pull figures of the "templates from any OCI image" issue: the base template's root file
// system (~330 MB, one ~130 MB gzip layer) pushed to a loopback registry, then pulled into empty
// folders by hand (`skopeo copy` + `umoci unpack`, the floor) and by pullImage. Target: pullImage
// within 1.5× the floor.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pullImage } from '../src/templates/oci/pull-image.js';
import { baseRootfsDir, pushRootfs, startRegistry } from '../test/support/oci-registry.js';
import { percentile, type Row } from './stats.js';

const run = promisify(execFile);
const runs = 3;

/** Milliseconds `fn` takes in a new empty folder, which is removed afterwards (not timed). */
async function inEmptyFolder(fn: (dir: string) => Promise<unknown>): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-bench-pull-'));
  try {
    const t0 = performance.now();
    await fn(dir);
    return performance.now() - t0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function imagePullRows(): Promise<Row[]> {
  const registry = await startRegistry();
  try {
    const image = `${registry.host}/bench/base:v1`;
    await pushRootfs(registry, 'bench/base:v1', baseRootfsDir());
    const byHand = (dir: string) =>
      run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${image}`, `oci:${dir}/layout:base`]).then(() =>
        run('umoci', ['unpack', '--image', `${dir}/layout:base`, `${dir}/bundle`]),
      );
    const options = (dir: string) => ({
      layersDir: path.join(dir, 'layers'), imagesDir: path.join(dir, 'images'), insecureRegistries: [registry.host], log: () => undefined,
    });
    const floor: number[] = [];
    const ours: number[] = [];
    let again = 0;
    // Alternated, so both see the same state of the page cache and the disk.
    for (let i = 0; i < runs; i++) {
      floor.push(await inEmptyFolder(byHand));
      ours.push(
        await inEmptyFolder(async (dir) => {
          await pullImage(image, options(dir));
          if (i === 0) {
            const t0 = performance.now();
            await pullImage(image, options(dir));
            again = performance.now() - t0;
          }
        }),
      );
    }
    // The first run of ours includes the second pull: leave it out of its own time.
    ours[0] = ours[0]! - again;
    const floorP50 = percentile(floor, 50);
    const oursP50 = percentile(ours, 50);
    const list = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    return [
      { name: 'floor: skopeo copy + umoci unpack of the base rootfs by hand', unit: 's', value: floorP50 / 1000, target: `runs ${list(floor)}` },
      { name: 'pullImage of the base rootfs into empty folders', unit: 's', value: oursP50 / 1000, target: `runs ${list(ours)}` },
      { name: 'ratio: pullImage / floor (median of 3)', unit: '×', value: oursP50 / floorP50, target: '≤ 1.5' },
      { name: 'pullImage of the same image again (layers present)', unit: 'ms', value: again },
    ];
  } finally {
    await registry.stop();
  }
}
