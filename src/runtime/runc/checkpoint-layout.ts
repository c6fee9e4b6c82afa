// What the runc backend keeps in a checkpoint folder: `image/` (CRIU's image of the processes),
// `upper/` (the writable layer, for a saved state a new sandbox starts from), `work/` (CRIU's
// logs) and `complete`, written last, so a restart can tell a whole checkpoint from one cut short.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export const checkpointImage = (dir: string) => path.join(dir, 'image');
export const checkpointUpper = (dir: string) => path.join(dir, 'upper');
export const checkpointWork = (dir: string) => path.join(dir, 'work');

const completeMarker = (dir: string) => path.join(dir, 'complete');

export function markCheckpointWhole(dir: string): Promise<void> {
  return writeFile(completeMarker(dir), '');
}

export function isCheckpointWhole(dir: string): boolean {
  return existsSync(completeMarker(dir));
}
