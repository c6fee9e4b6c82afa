// The names of the saved states the lifecycle keeps (runtime checkpoints): one per paused sandbox,
// one per snapshot, one per template boot state, and a passing one per clone call.
import { randomBytes } from 'node:crypto';
import type { CheckpointRef, RestoreSource } from '../runtime/runtime.js';
import type { BootState } from '../store/boot-state-store.js';

export const pauseCheckpoint = (sandboxId: string): CheckpointRef => ({ kind: 'pause', name: sandboxId });

export const snapshotCheckpoint = (snapshotId: string): CheckpointRef => ({ kind: 'snapshot', name: snapshotId });

/** A boot state is named by its template, the runtime inputs it was taken with, and whether it
 *  was saved settled: the settled one replaces the other while creates may restore that. */
export const bootCheckpoint = (state: Pick<BootState, 'templateId' | 'key' | 'settled'>): CheckpointRef => ({
  kind: 'boot',
  name: `${state.templateId}-${state.key.slice(0, 16)}${state.settled ? '-settled' : ''}`,
});

export const newCloneCheckpoint = (): CheckpointRef => ({ kind: 'clone', name: randomBytes(6).toString('hex') });

/** A saved state (a `snapshot` checkpoint, or a paused one copied) that new sandboxes start from. */
export function savedSource(checkpoint: CheckpointRef, address: string | null): RestoreSource {
  return { checkpoint, withSavedLayer: true, checkpointAddress: address ?? undefined };
}
