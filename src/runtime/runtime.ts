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
  pidsLimit: number;
  network: NetworkLease;
  /** Shell command started as root beside envd when the sandbox boots (a template's service,
   *  e.g. the code interpreter); none when undefined. */
  startCommand?: string;
}

export interface SandboxStats {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageNs: number;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  pids: number;
}

export interface Runtime {
  readonly name: string;
  /** Starts the sandbox with envd as its main program. Resolves once the container runs (envd may
   *  still be starting). On failure nothing of the sandbox is left behind. */
  create(spec: SandboxSpec): Promise<void>;
  /** Kills every process of the sandbox and removes its container, mounts, network and layer.
   *  Idempotent: destroying what is already gone succeeds. */
  destroy(id: string): Promise<void>;
  /** Ids of the sandboxes this backend has running now (to re-adopt them after a restart). */
  listRunning(): Promise<string[]>;
  /** Ids of the sandboxes this backend holds any resource for, running or not (to sweep leftovers). */
  listPresent(): Promise<string[]>;
  stats(id: string): Promise<SandboxStats | undefined>;
}
