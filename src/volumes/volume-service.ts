// Volumes: create, list, get and delete (a volume is a folder on the host that outlives its
// sandboxes), the mounts sandboxes make of them, and the token-checked door to their content.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';
import type { Logger } from '../log.js';
import type { VolumeMountSpec } from '../runtime/runtime.js';
import type { SandboxVolumes, VolumeMountInput } from '../sandboxes/volume-mounts.js';
import type { VolumeMountRecord, VolumeRecord, VolumeStore } from '../store/volume-store.js';
import { VolumeFiles } from './volume-files.js';
import { checkMountPath } from './volume-paths.js';
import type { VolumeStorage } from './volume-storage.js';

const volumeName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newVolumeId(): string {
  const bytes = randomBytes(20);
  let id = 'vol-';
  for (const b of bytes) id += idAlphabet[b % idAlphabet.length];
  return id;
}

export class VolumeService implements SandboxVolumes {
  constructor(
    private readonly store: VolumeStore,
    private readonly storage: VolumeStorage,
    private readonly log: Logger,
  ) {}

  /** Makes the folder of every volume whose folder is missing, removes folders no volume owns
   *  (a create or delete cut short) and what a removal left in the trash. */
  async reconcile(): Promise<void> {
    await this.storage.emptyTrash();
    const known = new Set(this.store.all().map((v) => v.id));
    for (const id of known) await this.storage.make(id);
    for (const id of await this.storage.list()) {
      if (known.has(id)) continue;
      this.log.warn({ volumeId: id }, `removing the folder of volume ${id}, which has no record (a create or delete was cut short)`);
      await this.storage.remove(id);
    }
  }

  async create(name: unknown): Promise<VolumeRecord> {
    if (typeof name !== 'string' || !volumeName.test(name)) throw errors.invalidVolumeName(String(name));
    const rec: VolumeRecord = { id: newVolumeId(), name, token: randomBytes(24).toString('base64url'), createdAt: Date.now() };
    // The row first: it claims the name at once; a folder without a row is swept at start.
    if (!this.store.insert(rec)) throw errors.volumeNameTaken(name);
    try {
      await this.storage.make(rec.id);
    } catch (err) {
      this.store.delete(rec.id);
      throw err;
    }
    this.log.info({ volumeId: rec.id, name }, `volume ${name} created`);
    return rec;
  }

  list(): VolumeRecord[] {
    return this.store.all();
  }

  get(id: string): VolumeRecord {
    const rec = this.store.get(id);
    if (!rec) throw errors.volumeNotFound(id);
    return rec;
  }

  /** Deletes the volume and its content; 409 while a sandbox (running or paused) mounts it. */
  async delete(id: string): Promise<void> {
    const outcome = this.store.delete(id);
    if (outcome === 'missing') throw errors.volumeNotFound(id);
    if (outcome === 'in-use') throw errors.volumeInUse(id, this.store.users(id));
    await this.storage.remove(id);
    this.log.info({ volumeId: id }, `volume ${id} deleted`);
  }

  /** The content of a volume, for a caller holding its token (401 otherwise). */
  files(id: string, token: string | undefined): VolumeFiles {
    const rec = this.get(id);
    const given = Buffer.from(token ?? '');
    const expected = Buffer.from(rec.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw errors.volumeTokenInvalid();
    return new VolumeFiles(this.storage.root(id), this.storage);
  }

  resolve(mounts: VolumeMountInput[]): VolumeMountRecord[] {
    const seen = new Set<string>();
    return mounts.map((m) => {
      const path = checkMountPath(m.path);
      if (seen.has(path)) throw errors.invalidVolumeMount(m.path, 'is named by two mounts');
      seen.add(path);
      const vol = this.store.byName(m.name);
      if (!vol) throw errors.volumeNotFound(m.name);
      return { volumeId: vol.id, name: vol.name, path };
    });
  }

  attach(sandboxId: string, mounts: VolumeMountRecord[]): void {
    if (mounts.length === 0) return;
    if (!this.store.attach(sandboxId, mounts)) throw errors.volumeNotFound(mounts.map((m) => m.name).join("' or '"));
  }

  mountsOf(sandboxId: string): VolumeMountRecord[] {
    return this.store.mountsOf(sandboxId);
  }

  attachSnapshot(snapshotId: string, mounts: VolumeMountRecord[]): void {
    this.store.attachSnapshot(snapshotId, mounts);
  }

  snapshotMountsOf(snapshotId: string): VolumeMountRecord[] {
    return this.store.snapshotMountsOf(snapshotId);
  }

  runtimeMounts(sandboxId: string): VolumeMountSpec[] {
    return this.store.mountsOf(sandboxId).map((m) => ({ source: this.storage.root(m.volumeId), destination: m.path }));
  }
}
