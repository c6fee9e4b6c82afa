// Where a benchmark run keeps its figures: one JSON file per run in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installDir } from '../src/config.js';

/** Writes `data` (with the date) to bench/results/<prefix><date>.json; resolves to the path
 *  relative to the checkout, for printing. */
export function writeResults(prefix: string, data: object): string {
  const dir = path.join(installDir, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString();
  const file = path.join(dir, `${prefix}${date.replaceAll(':', '-')}.json`);
  writeFileSync(file, JSON.stringify({ date, ...data }, null, 2));
  return path.relative(installDir, file);
}
