// Byte relays between two sockets, made cheap for many small requests a second: a socket's reads
// land in one reused buffer (Node's `onread` option) instead of a new Buffer per read, and writes
// go to the other socket's handle directly; those two were most of the proxy's own cost besides
// the system calls.
import net from 'node:net';
import tls from 'node:tls';

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

/** The parts of Node's stream binding a direct write needs (what `writeGeneric` uses inside). */
interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}
interface WriteRequest {
  handle: unknown;
  oncomplete?: (status: number) => void;
  /** What a queued write reads from: referenced here so it is not collected before libuv is done. */
  buffer?: Uint8Array;
}
interface StreamHandle {
  writeBuffer(req: WriteRequest, chunk: Uint8Array): number;
}

/** Node's stream binding, or undefined on a Node that no longer offers it (writes then take the
 *  public `socket.write`). */
function streamWrapBinding(): StreamWrapBinding | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    return binding.WriteWrap && binding.streamBaseState && typeof binding.kLastWriteWasAsync === 'number' ? (binding as StreamWrapBinding) : undefined;
  } catch {
    return undefined;
  }
}

const streamWrap = streamWrapBinding();

/** Whether relays write to plain sockets' handles directly (this Node offers the binding). */
export const directWrites = streamWrap !== undefined;

/**
 * A sink that writes into `to`, pausing `from` while `to` is full. A chunk for a plain socket goes
 * straight to its handle, as Node's own `socket.write` ends up doing: in the server, where many
 * kinds of stream share Node's Writable code, the bookkeeping around it took about a tenth of the
 * proxy's CPU per small request. When the kernel cannot take the whole chunk at once, libuv queues
 * the rest (the read buffer is then kept, not reused) and `from` waits for that write to finish.
 * While `to` still has bytes queued by `socket.write` (written before the relay started), chunks
 * follow them through `socket.write`, keeping their order. A TLS socket always takes
 * `socket.write`: its handle encrypts asynchronously and allows one write at a time, which only
 * its own queue guarantees.
 */
export function writeInto(from: net.Socket, to: net.Socket, reads: ReusedReads): ReadSink {
  to.on('drain', () => from.resume());
  let req: WriteRequest | undefined;
  const finished = (status: number) => {
    if (status < 0) to.destroy(new Error(`relay write failed (libuv status ${status})`));
    else from.resume();
  };
  const binding = to instanceof tls.TLSSocket ? undefined : streamWrap;
  return (chunk) => {
    const handle = (to as unknown as HandleCarrier)._handle as StreamHandle | null;
    if (!binding || !handle || to.writableLength > 0) {
      const accepted = to.write(chunk);
      if (to.writableLength > 0) reads.keep();
      return accepted;
    }
    req ??= new binding.WriteWrap();
    req.handle = handle;
    const status = handle.writeBuffer(req, chunk);
    if (status < 0) {
      finished(status);
      return false;
    }
    if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) return true;
    // Queued in libuv: this request now belongs to that write, and the chunk's memory must stay,
    // neither reused (keep) nor collected (the request, which libuv holds, references it).
    req.buffer = chunk;
    req.oncomplete = finished;
    req = undefined;
    reads.keep();
    return false;
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
