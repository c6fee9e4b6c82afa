// The isolation driver's interface. `sandboxes/` talks only to this; each backend (runc now;
// gVisor or a microVM later) implements it and is checked by the shared contract tests.

export interface NetworkLease {
  /** Index of the /30 block within the server's private range. */
  index: number;
  /** Address of the host end of the veth pair (the sandbox's gateway). */
  hostAddress: string;
  /** Address of the sandbox end; the server reaches envd here. */
  sandboxAddress: string;
  prefixLength: number;
}

export interface SandboxSpec {
  id: string;
  /** Read-only root filesystem layers, top first (overlayfs lowerdir order). */
  layers: string[];
  cpuCount: number;
  memoryMB: number;
  /** Size of the sandbox's disk (its writable layer), where the backend limits it; the server's
   *  default (SANDCASTLE_DISK_MB) when undefined. */
  diskSizeMB?: number;
  pidsLimit: number;
  network: NetworkLease;
  /** Shell command started as root beside envd when the sandbox boots (a template's service,
   *  e.g. the code interpreter); none when undefined. */
  startCommand?: string;
  /** What the sandbox may connect to outside itself; the whole internet when undefined. */
  egress?: EgressPolicy;
  /** Volumes bound read-write into the sandbox (they outlive it). */
  volumes?: VolumeMountSpec[];
}

/** A volume's folder, as the volume storage names it (opaque here), and where the sandbox sees it. */
export interface VolumeMountSpec {
  source: string;
  /** Absolute path inside the sandbox. */
  destination: string;
}

/** Outbound rules of a sandbox (protocol §3.3 `allow_internet_access` and `network`). */
export interface EgressPolicy {
  /** False refuses every destination that allowOut does not name. */
  allowInternetAccess: boolean;
  /** IPv4 addresses, CIDRs or domain names allowed even where denyOut or allowInternetAccess
   *  would refuse them (allow wins). Names are resolved when the rules are set. */
  allowOut: string[];
  /** IPv4 addresses or CIDRs refused. */
  denyOut: string[];
}

export interface SandboxStats {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageNs: number;
  /** Memory in use less the page cache the kernel may drop (the working set). */
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /** Page cache charged to the sandbox. */
  memoryCacheBytes: number;
  pids: number;
}

/**
 * A saved state of processes (and, but for a pause, the writable layer), named by the lifecycle:
 * `pause` (named by its sandbox), `clone` (an image clones start from, gone with the call: a crash
 * may tear it, recovery removes it), `snapshot` (named by the snapshot id), `boot` (a template's
 * saved boot state). Where and how it is kept is the backend's business; all but `clone` outlive a
 * crash once whole.
 */
export interface CheckpointRef {
  kind: 'pause' | 'clone' | 'snapshot' | 'boot';
  /** One path segment: letters, digits, `-`, `_`, `.`. */
  name: string;
}

/** Where a restore takes its state from: a checkpoint that `checkpoint` or `copyStopped` made. */
export interface RestoreSource {
  checkpoint: CheckpointRef;
  /** True for a saved state (clone, snapshot, a template's boot state): the sandbox starts from
   *  the writable layer saved with it. False for a resume, which finds its own layer in place. */
  withSavedLayer: boolean;
  /** The sandbox address at checkpoint time: restored sockets bound to it need it present. */
  checkpointAddress?: string;
}

/**
 * How a checkpoint treats the sandbox: `stop` ends it (pause: its memory and CPU are freed, its
 * writable layer, root filesystem mount and network stay); `freeze` saves what `stop` saves but
 * keeps the processes frozen in memory (a warm pause: no CPU, their memory held) until `thaw` lets
 * them run on or `clearStopped` ends them; `snapshot` freezes it, saves its processes and its
 * writable layer, and lets it run on (clone, snapshot).
 */
export type CheckpointMode = 'stop' | 'freeze' | 'snapshot';

export interface HostResources {
  memoryAvailableBytes: number;
  diskAvailableBytes: number;
}

export type ContainerState = 'running' | 'frozen' | 'stopped';

export interface Runtime {
  readonly name: string;
  /** Networks (`a.b.c.d/len`) the host routes now: a block found there is still held by an
   *  interface (another server, or one the kernel has not torn down yet) and must not be leased. */
  hostRoutes(): Set<string>;
  /** Starts the sandbox with envd as its main program. Resolves once the container runs (envd may
   *  still be starting). On failure nothing of the sandbox is left behind. */
  create(spec: SandboxSpec): Promise<void>;
  /** Kills every process of the sandbox and removes its container, mounts, network and layer.
   *  Idempotent: destroying what is already gone succeeds. */
  destroy(id: string): Promise<void>;
  /** Ends the sandbox and keeps its writable layer as the folder `to` (which must not exist; moved
   *  when on the same file system, copied otherwise): a read-only layer from now on, holding what the
   *  sandbox changed over its layers, without the mount points the backend itself made. The rest
   *  goes as with destroy. A template build turns each step's sandbox into a layer this way. */
  commit(id: string, to: string): Promise<void>;
  /** Ids of the sandboxes this backend has running now (to re-adopt them after a restart). */
  listRunning(): Promise<string[]>;
  /** Waits until work a previous server process left going (a checkpoint, a restore, a copy)
   *  has finished, so what `inspect` then reports is final. For recovery after a crash. */
  settle(): Promise<void>;
  /** The container of every sandbox that has one: running, frozen (a snapshot checkpoint froze it
   *  and its server died before thawing it) or stopped (a restore cut short). */
  inspect(): Promise<Map<string, ContainerState>>;
  /** Makes a sandbox that a previous server process restored or froze as this one leaves it:
   *  thawed, with no restore leftovers. */
  adopt(id: string): Promise<void>;
  /** Removes a container of the sandbox that does not run (a restore cut short; processes a
   *  `freeze` checkpoint left frozen are killed), keeping its writable layer and network as a
   *  `stop` pause leaves them, and its checkpoints. */
  clearStopped(id: string): Promise<void>;
  /** Lets the processes a `freeze` checkpoint left frozen run on, as they were; fails, leaving
   *  them frozen, when the sandbox has none. */
  thaw(id: string): Promise<void>;
  /** Ends the processes a `freeze` checkpoint left frozen as a `stop` checkpoint would, saving
   *  them again as `ref` (which stays whole throughout, a crash included): its connections are
   *  kept as a `stop` pause keeps them, where killing the processes would close them. */
  endFrozen(id: string, ref: CheckpointRef): Promise<void>;
  /** Ids of the sandboxes this backend holds any resource for, running or not (to sweep leftovers). */
  listPresent(): Promise<string[]>;
  stats(id: string): Promise<SandboxStats | undefined>;
  /** What the host has left for more sandboxes: memory and disk where their layers live. */
  hostResources(): Promise<HostResources>;
  /** Folder holding the sandbox's own writes, whose size is its disk use. */
  writableLayer(id: string): string;
  /** The last `maxBytes` of the file `name` at the root of the sandbox's own writes (envd's log),
   *  read safely (sandbox-file.ts); empty when there is none. */
  readWrittenFile(id: string, name: string, maxBytes: number): Promise<string>;
  /** Bytes the sandbox's disk holds by the backend's own accounting (its disk quota), read
   *  cheaply; undefined when it keeps none, and its writable layer is to be measured instead. */
  diskUsedBytes(id: string): Promise<number | undefined>;
  /** Replaces the outbound rules of a sandbox that has its network (running or paused). */
  updateEgress(id: string, lease: NetworkLease, egress: EgressPolicy): Promise<void>;
  /** Saves the sandbox's processes (and for `snapshot` its writable layer) as `ref`, replacing
   *  what was there. On failure the sandbox keeps running as it was and `ref` is gone. */
  checkpoint(id: string, ref: CheckpointRef, mode: CheckpointMode): Promise<void>;
  /** Whether `ref` is a checkpoint that was finished (a crash may cut one short). */
  checkpointIsWhole(ref: CheckpointRef): boolean;
  /** Whether the `stop` checkpoint `ref` is whole, marking it so when the checkpoint tool
   *  finished it and only the mark is missing (the server died just before writing it). */
  finishStopCheckpoint(ref: CheckpointRef): Promise<boolean>;
  /** Removes a checkpoint; removing one that is not there succeeds. */
  deleteCheckpoint(ref: CheckpointRef): Promise<void>;
  /** Removes a checkpoint off the caller's critical path: at once it is no longer there (a new
   *  one of the same name never meets the removal), the space is freed in the background. */
  discardCheckpoint(ref: CheckpointRef): Promise<void>;
  /** Names of the checkpoints of a kind, whole or not (to sweep what nothing owns). */
  listCheckpoints(kind: CheckpointRef['kind']): Promise<string[]>;
  /** Starts `spec.id` from a checkpoint. On failure nothing of the attempt is left and the
   *  checkpoint is untouched. */
  restore(spec: SandboxSpec, source: RestoreSource): Promise<void>;
  /** A key of everything a saved state of `spec` depends on besides the sandbox itself (root
   *  filesystem, mounted programs, start command, checkpoint tool): equal keys, usable state. */
  savedStateKey(spec: Pick<SandboxSpec, 'layers' | 'startCommand'>): Promise<string>;
  /** Copies a stopped (paused) sandbox's pause checkpoint with its writable layer as `to`, as a
   *  `snapshot` checkpoint would have saved it. */
  copyStopped(id: string, to: CheckpointRef): Promise<void>;
}
