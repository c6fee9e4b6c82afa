// What a sandbox's record says before it runs: the fields a create (or a clone, the pool, a saved
// boot state) decides, the network block it leases, and the runtime spec its record describes.
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { NetworkRange } from '../runtime/network/network-lease.js';
import type { EgressPolicy, Runtime, SandboxSpec } from '../runtime/runtime.js';
import type { NetworkRules, SandboxRecord, SandboxStore } from '../store/sandbox-store.js';
import { autoResumeFromMetadata, idleTimeoutFromMetadata } from './idle-metadata.js';
import { newAccessToken, newSandboxId } from './ids.js';
import type { SandboxVolumes, VolumeMountInput } from './volume-mounts.js';
import type { VolumeMountRecord } from '../store/volume-store.js';

export interface CreateSandboxInput {
  templateId: string;
  timeoutSeconds?: number;
  metadata?: Record<string, string>;
  envVars?: Record<string, string>;
  autoPause?: boolean;
  autoResume?: boolean;
  allowInternetAccess?: boolean;
  /** Outbound rules from the create body's `network` field. */
  network?: NetworkRulesInput | null;
  /** Volumes to mount (e2b's `volumeMounts`). */
  volumeMounts?: VolumeMountInput[];
}

/** Outbound rules as a request gives them: either list may be missing. */
export interface NetworkRulesInput {
  allowOut?: string[] | null;
  denyOut?: string[] | null;
}

/** What a sandbox is made from: a template, a snapshot (no alias), or for a clone its source. */
export interface Origin {
  id: string;
  alias: string | null;
  layers: string[];
  startCmd: string | null;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  /** A user template's environment (the sandbox's own record carries it on to clones). */
  envVars?: Record<string, string>;
}

/** A sandbox as the origin of its clones: what it was made from, and its own size. */
export function originOf(rec: SandboxRecord): Origin {
  return { id: rec.templateId, alias: rec.alias, layers: rec.layers, startCmd: rec.startCmd, cpuCount: rec.cpuCount, memoryMB: rec.memoryMB, diskSizeMB: rec.diskSizeMB };
}

/** What a create (or a clone, or the pool) decides about a sandbox; the rest of its record follows. */
export type SandboxFields = Pick<SandboxRecord, 'timeoutSeconds' | 'metadata' | 'envVars' | 'autoPause' | 'autoResume' | 'allowInternetAccess' | 'networkRules'> & {
  origin: Origin;
  /** Volumes the sandbox mounts, resolved (SandboxVolumes.resolve). */
  volumeMounts?: VolumeMountRecord[];
};

export class SandboxRecords {
  /** Where the search for a free network block starts (round-robin; see NetworkRange.nextFree). */
  private nextNetworkIndex: number | undefined;

  constructor(
    private readonly config: Config,
    private readonly store: SandboxStore,
    private readonly runtime: Runtime,
    private readonly network: NetworkRange,
    private readonly volumes?: SandboxVolumes,
  ) {}

  /** Inserts a `starting` record; inserting first reserves the network index (UNIQUE) before any
   *  await lets another create in. */
  reserve(fields: SandboxFields): SandboxRecord {
    const used = this.store.usedNetworkIndexes();
    this.nextNetworkIndex ??= used.size ? Math.max(...used) + 1 : 0;
    const networkIndex = this.network.pick(used, this.nextNetworkIndex, this.runtime.hostRoutes());
    if (networkIndex === undefined) throw errors.capacityExhausted('no free sandbox network address (all leased or still routed)');
    this.nextNetworkIndex = networkIndex + 1;
    const rec = this.store.insert({
      ...this.lifecycleFields(fields),
      id: newSandboxId(),
      templateId: fields.origin.id,
      alias: fields.origin.alias,
      cpuCount: fields.origin.cpuCount,
      memoryMB: fields.origin.memoryMB,
      diskSizeMB: fields.origin.diskSizeMB,
      layers: fields.origin.layers,
      startCmd: fields.origin.startCmd,
      networkIndex,
    });
    if (fields.volumeMounts?.length) {
      try {
        this.volumes!.attach(rec.id, fields.volumeMounts);
      } catch (err) {
        this.store.delete(rec.id);
        throw err;
      }
    }
    return rec;
  }

  /** The volumes a create names, checked (404 for an unknown one); none without volumes. */
  resolveVolumes(mounts: VolumeMountInput[] | undefined): VolumeMountRecord[] {
    if (!mounts?.length) return [];
    if (!this.volumes) throw new Error('this server has no volume storage');
    return this.volumes.resolve(mounts);
  }

  /** The volumes a sandbox mounts (its clones mount them too). */
  volumesOf(id: string): VolumeMountRecord[] {
    return this.volumes?.mountsOf(id) ?? [];
  }

  /** Records the volumes a snapshot's source mounted: sandboxes made from it mount them. */
  recordSnapshotVolumes(snapshotId: string, mounts: VolumeMountRecord[]): void {
    if (mounts.length) this.volumes!.attachSnapshot(snapshotId, mounts);
  }

  snapshotVolumesOf(snapshotId: string): VolumeMountRecord[] {
    return this.volumes?.snapshotMountsOf(snapshotId) ?? [];
  }

  /** A sandbox no create has asked for yet (the pool, a saved boot state): a create's defaults. */
  unownedFields(origin: Origin): SandboxFields {
    return fieldsFromInput(origin, { templateId: origin.id }, this.config.defaultTimeoutSeconds);
  }

  /** What a create decides about a sandbox, whether it is started for it or taken from the pool. */
  lifecycleFields(fields: SandboxFields) {
    const idle = idleTimeoutFromMetadata(fields.metadata, this.config.minIdleTimeoutSeconds);
    const now = Date.now();
    // With an idle timeout the sandbox lives until it idles, or at most its maximum lifetime.
    const lifetime = idle === undefined ? fields.timeoutSeconds : this.config.maxLifetimeSeconds;
    return {
      state: 'starting' as const,
      envdToken: newAccessToken(),
      metadata: fields.metadata,
      envVars: fields.envVars,
      startedAt: now,
      endAt: now + lifetime * 1000,
      autoPause: fields.autoPause,
      autoResume: fields.autoResume || autoResumeFromMetadata(fields.metadata),
      allowInternetAccess: fields.allowInternetAccess,
      timeoutSeconds: fields.timeoutSeconds,
      pausedAt: null,
      idleTimeoutSeconds: idle ?? null,
      networkRules: fields.networkRules,
    };
  }

  /** What the runtime needs to start (or restore) the sandbox the record describes. */
  spec(rec: SandboxRecord): SandboxSpec {
    return {
      id: rec.id,
      layers: rec.layers,
      cpuCount: rec.cpuCount,
      memoryMB: rec.memoryMB,
      diskSizeMB: rec.diskSizeMB,
      pidsLimit: this.config.pidsLimit,
      network: this.lease(rec),
      startCommand: rec.startCmd ?? undefined,
      egress: egressOf(rec.allowInternetAccess, rec.networkRules),
      ...this.volumeSpec(rec.id),
    };
  }

  private volumeSpec(id: string): Pick<SandboxSpec, 'volumes'> {
    const volumes = this.volumes?.runtimeMounts(id) ?? [];
    return volumes.length ? { volumes } : {};
  }

  lease(rec: SandboxRecord) {
    if (rec.networkIndex === null) throw new Error(`sandbox ${rec.id} has no network lease`);
    return this.network.lease(rec.networkIndex);
  }

  /** The address of the sandbox end of its veth pair, where envd and its services answer. */
  addressOf(rec: SandboxRecord): string {
    return this.lease(rec).sandboxAddress;
  }
}

export function fieldsFromInput(origin: Origin, input: CreateSandboxInput, timeoutSeconds: number): SandboxFields {
  return {
    origin,
    timeoutSeconds,
    metadata: input.metadata ?? {},
    // A template's environment is the default; the create's own variables win.
    envVars: { ...origin.envVars, ...input.envVars },
    autoPause: input.autoPause ?? false,
    autoResume: input.autoResume ?? false,
    allowInternetAccess: input.allowInternetAccess ?? true,
    networkRules: rulesFromInput(input),
  };
}

export function egressOf(allowInternetAccess: boolean, rules: NetworkRules | null): EgressPolicy {
  return { allowInternetAccess, allowOut: rules?.allowOut ?? [], denyOut: rules?.denyOut ?? [] };
}

/** The create's outbound rules; none when both lists are empty. */
export function rulesFromInput(input: Pick<CreateSandboxInput, 'network'>): NetworkRules | null {
  const rules = { allowOut: input.network?.allowOut ?? [], denyOut: input.network?.denyOut ?? [] };
  return rules.allowOut.length || rules.denyOut.length ? rules : null;
}
