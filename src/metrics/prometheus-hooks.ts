// What components report for the Prometheus endpoint (prometheus.ts), without knowing of it: plain
// counters they are handed, read when Prometheus scrapes.
import type { Duplex, Readable } from 'node:stream';

/** A socket (`bytesRead`), or a stream standing for one, whose bytes are then not counted. */
type Counted = Duplex & { bytesRead?: number };

export interface RelayFigures {
  /** Relayed connections (public URLs) or requests and upgrades (SDK headers) since start. */
  opened: number;
  open: number;
  toSandbox: number;
  fromSandbox: number;
}

/**
 * The traffic one proxy relays. A spliced connection's bytes are the kernel's count of what each
 * side read (`bytesRead`, kept by the socket's handle, so relays that write to handles directly
 * are counted too); open connections are summed when read, so a long download shows as it goes.
 */
export class RelayMeter {
  private opened = 0;
  private closedTo = 0;
  private closedFrom = 0;
  /** Bytes of requests relayed as HTTP messages (not spliced sockets), counted as they pass. */
  private streamedTo = 0;
  private streamedFrom = 0;
  private streaming = 0;
  private readonly spliced = new Set<{ client: Counted; upstream: Counted }>();

  /** A client connection spliced to a sandbox port, counted until both ends have closed. */
  splice(client: Counted, upstream: Counted): void {
    this.opened++;
    const pair = { client, upstream };
    this.spliced.add(pair);
    let ends = 2;
    const closed = () => {
      if (--ends > 0) return;
      this.spliced.delete(pair);
      this.closedTo += client.bytesRead ?? 0;
      this.closedFrom += upstream.bytesRead ?? 0;
    };
    client.once('close', closed);
    upstream.once('close', closed);
  }

  /** An HTTP request relayed to a sandbox: its body counted as it passes, open until `done`
   *  (the response to the client) closes. */
  request(body: Readable, done: { once(event: 'close', fn: () => void): unknown }): void {
    this.opened++;
    this.streaming++;
    body.on('data', (chunk: Buffer) => (this.streamedTo += chunk.length));
    done.once('close', () => this.streaming--);
  }

  /** The answer of a relayed request, once it arrives. */
  answer(answer: Readable): void {
    answer.on('data', (chunk: Buffer) => (this.streamedFrom += chunk.length));
  }

  figures(): RelayFigures {
    let toSandbox = this.closedTo + this.streamedTo;
    let fromSandbox = this.closedFrom + this.streamedFrom;
    for (const { client, upstream } of this.spliced) {
      toSandbox += client.bytesRead ?? 0;
      fromSandbox += upstream.bytesRead ?? 0;
    }
    return { opened: this.opened, open: this.spliced.size + this.streaming, toSandbox, fromSandbox };
  }
}

/** A proxy that relayed nothing (yet): the Node data plane's HAProxy figures, or before the
 *  listeners run. */
export const noRelayFigures: RelayFigures = { opened: 0, open: 0, toSandbox: 0, fromSandbox: 0 };

/** Two proxies' figures as one (Node's public proxy and the HAProxy data plane in front of it). */
export function addFigures(a: RelayFigures, b: RelayFigures): RelayFigures {
  return { opened: a.opened + b.opened, open: a.open + b.open, toSandbox: a.toSandbox + b.toSandbox, fromSandbox: a.fromSandbox + b.fromSandbox };
}

export type BuildOutcome = 'ready' | 'error';

/** Template builds that ended since start, and how long each took. */
export type BuildObserver = (outcome: BuildOutcome, seconds: number) => void;
