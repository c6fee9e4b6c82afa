// A sandbox's public-URL policy (e2b's `network.allowPublicTraffic` and `maskRequestHost`): with
// allowPublicTraffic false, every request to a sandbox port must carry the sandbox's traffic
// access token in the `e2b-traffic-access-token` header, else 403 as the hosted product answers.
// envd's port is exempt: the SDKs reach envd with its own token and never send this header.
// maskRequestHost is the Host the sandbox's servers see, `${PORT}` replaced by the port.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, type SandcastleError } from '../errors.js';
import { envdPort } from '../protocol.js';
import type { PublicAccessRecord, PublicAccessStore } from '../store/public-access-store.js';

export const trafficTokenHeader = 'e2b-traffic-access-token';

export interface PublicAccessOptions {
  allowPublicTraffic?: boolean | null;
  maskRequestHost?: string | null;
}

export class PublicAccess {
  constructor(private readonly store: PublicAccessStore) {}

  /** Records a new sandbox's options; returns its traffic access token (null when public). */
  configure(sandboxId: string, opts: PublicAccessOptions | null | undefined): string | null {
    const trafficToken = opts?.allowPublicTraffic === false ? randomBytes(24).toString('base64url') : null;
    const maskRequestHost = opts?.maskRequestHost || null;
    if (trafficToken !== null || maskRequestHost !== null) this.store.set(sandboxId, { trafficToken, maskRequestHost });
    return trafficToken;
  }

  /** A fork or clone keeps its source's policy, with a token of its own. */
  inherit(sourceId: string, sandboxId: string): string | null {
    const source = this.store.get(sourceId);
    if (!source) return null;
    return this.configure(sandboxId, { allowPublicTraffic: source.trafficToken === null, maskRequestHost: source.maskRequestHost });
  }

  settings(sandboxId: string): PublicAccessRecord | undefined {
    return this.store.get(sandboxId);
  }

  tokenOf(sandboxId: string): string | null {
    return this.store.get(sandboxId)?.trafficToken ?? null;
  }

  /** What get info shows in `network`, undefined when the sandbox has no policy. */
  networkInfo(sandboxId: string): { allowPublicTraffic: boolean; maskRequestHost?: string } | undefined {
    const rec = this.store.get(sandboxId);
    return rec && { allowPublicTraffic: rec.trafficToken === null, ...(rec.maskRequestHost ? { maskRequestHost: rec.maskRequestHost } : {}) };
  }

  /** Whether a request needs more than a byte relay: a token to check or a Host to rewrite. */
  restricted(sandboxId: string): boolean {
    return this.store.get(sandboxId) !== undefined;
  }

  /** The error a request to `port` with header value `sent` gets, or undefined when it may pass. */
  refusal(sandboxId: string, port: number, sent: string | string[] | undefined): SandcastleError | undefined {
    const token = this.store.get(sandboxId)?.trafficToken;
    if (!token || port === envdPort) return undefined;
    const value = Array.isArray(sent) ? sent[0] : sent;
    if (!value) return errors.trafficTokenMissing();
    const a = Buffer.from(value);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b) ? undefined : errors.trafficTokenInvalid();
  }

  /** The Host header the sandbox's server is to see, or undefined to pass the client's on. */
  maskedHost(sandboxId: string, port: number): string | undefined {
    const mask = this.store.get(sandboxId)?.maskRequestHost;
    return mask ? mask.replaceAll('${PORT}', String(port)) : undefined;
  }
}
