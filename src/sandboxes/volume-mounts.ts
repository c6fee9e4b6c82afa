// What the lifecycle asks of volumes (the volume service answers): which volume a create's mount
// names, recording a sandbox's mounts, and what the runtime binds. Volumes' folders stay opaque here.
import type { VolumeMountSpec } from '../runtime/runtime.js';
import type { VolumeMountRecord } from '../store/volume-store.js';

/** A mount as a create names it (e2b's `volumeMounts` entry). */
export interface VolumeMountInput {
  name: string;
  path: string;
}

export interface SandboxVolumes {
  /** The volumes a create names, checked: an unknown name is a 404, a bad path a 400. */
  resolve(mounts: VolumeMountInput[]): VolumeMountRecord[];
  /** Records a reserved sandbox's mounts; throws 404 when a volume went meanwhile. */
  attach(sandboxId: string, mounts: VolumeMountRecord[]): void;
  mountsOf(sandboxId: string): VolumeMountRecord[];
  /** Records the mounts of a snapshot's source, which its sandboxes get. */
  attachSnapshot(snapshotId: string, mounts: VolumeMountRecord[]): void;
  snapshotMountsOf(snapshotId: string): VolumeMountRecord[];
  /** What the runtime binds into the sandbox. */
  runtimeMounts(sandboxId: string): VolumeMountSpec[];
}
