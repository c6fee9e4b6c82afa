// Sandbox records as the SDKs read them (protocol §3.4).
import { envdVersion } from '../protocol.js';
import type { SandboxRecord } from '../store/sandbox-store.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Answer of create and connect. `domain: null` makes the SDK use its configured domain. */
export function sandboxJson(rec: SandboxRecord) {
  return {
    sandboxID: rec.id,
    templateID: rec.templateId,
    alias: rec.alias ?? undefined,
    clientID: undefined,
    envdVersion,
    envdAccessToken: rec.envdToken,
    trafficAccessToken: null,
    domain: null,
  };
}

/** One entry of the list endpoint; `volumeMounts` as the create named them. */
export function listedSandboxJson(rec: SandboxRecord, volumeMounts: Array<{ name: string; path: string }> = []) {
  return {
    sandboxID: rec.id,
    templateID: rec.templateId,
    alias: rec.alias ?? undefined,
    metadata: rec.metadata,
    startedAt: iso(rec.startedAt),
    endAt: iso(rec.endAt),
    state: rec.state === 'paused' || rec.state === 'pausing' ? 'paused' : 'running',
    cpuCount: rec.cpuCount,
    memoryMB: rec.memoryMB,
    diskSizeMB: rec.diskSizeMB,
    envdVersion,
    volumeMounts: volumeMounts.map((m) => ({ name: m.name, path: m.path })),
  };
}

/** A list entry as clients (the CLI, the console) read it. */
export type ListedSandboxJson = ReturnType<typeof listedSandboxJson>;

/** Answer of get info. */
export function sandboxDetailJson(rec: SandboxRecord, volumeMounts: Array<{ name: string; path: string }> = []) {
  return {
    ...listedSandboxJson(rec, volumeMounts),
    envdAccessToken: rec.envdToken,
    domain: null,
    allowInternetAccess: rec.allowInternetAccess,
    network: rec.networkRules ?? undefined,
    lifecycle: { onTimeout: rec.autoPause ? 'pause' : 'kill', autoResume: rec.autoResume },
  };
}
