// Byte relays between two sockets, made cheap for many small requests a second: a socket's reads
// land in one reused buffer (Node's `onread` option) instead of a new Buffer per read, which was
// most of the proxy's own cost besides the system calls.
import net from 'node:net';

const readBufferBytes = 64 * 1024;

/** Where a socket's reads go. The chunk is only valid during the call; returning false pauses
 *  reading until the socket's `resume()`. */
export type ReadSink = (chunk: Buffer) => boolean;

/**
 * Reads into a reused buffer, handed to the current sink. A sink that could not hand a chunk to
 * the kernel at once (the peer's write was queued) calls `keep()`, and the next read gets a fresh
 * buffer, so queued bytes are never overwritten. Bytes read before there is a sink are copied and
 * held (reading pauses) until one is set.
 */
export class ReusedReads {
  private buffer = Buffer.allocUnsafe(readBufferBytes);
  private kept = false;
  private sink: ReadSink | undefined;
  private held: Buffer[] = [];

  readonly onread = {
    buffer: (): Buffer => {
      if (this.kept) {
        this.buffer = Buffer.allocUnsafe(readBufferBytes);
        this.kept = false;
      }
      return this.buffer;
    },
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = (buf as Buffer).subarray(0, n);
      if (this.sink) return this.sink(chunk);
      this.held.push(Buffer.from(chunk));
      return false;
    },
  };

  /** Where reads go from now on; held bytes go there first. The caller resumes the socket. */
  setSink(sink: ReadSink): void {
    this.sink = sink;
    for (const chunk of this.held.splice(0)) sink(chunk);
  }

  keep(): void {
    this.kept = true;
  }
}

interface HandleCarrier {
  _handle: unknown;
}

/**
 * The accepted plain-TCP connection `raw` (from a server with `pauseOnConnect`) as a socket whose
 * reads go through `reads`. Node offers `onread` only to sockets it connects; an accepted one gets
 * it by moving its handle into a new socket (the handle option of the constructor), after which
 * `raw` is retired without closing the connection.
 */
export function adoptWithReusedReads(raw: net.Socket, reads: ReusedReads): net.Socket {
  const carrier = raw as unknown as HandleCarrier;
  const socket = new net.Socket({ handle: carrier._handle, onread: reads.onread } as net.SocketConstructorOpts);
  carrier._handle = null;
  raw.destroy();
  return socket;
}

/** A sink that writes into `to`, pausing `from` while `to` is full. */
export function writeInto(from: net.Socket, to: net.Socket, reads: ReusedReads): ReadSink {
  to.on('drain', () => from.resume());
  return (chunk) => {
    const accepted = to.write(chunk);
    if (to.writableLength > 0) reads.keep();
    return accepted;
  };
}

/** Copies `from` into `to` for a socket without reused reads (a TLS connection, whose reads are
 *  decrypted into new buffers anyway), with the same backpressure. */
export function relayEvents(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.resume();
}
