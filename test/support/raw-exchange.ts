// One HTTP exchange over a raw TCP connection, for requests no HTTP client would send: the bytes
// are written as given, and the answer is read only as far as its status line.
import net from 'node:net';

export interface RawRequest {
  port: number;
  /** Written in order, with `pauseMs` between them (a client that sends its request in pieces). */
  chunks: Buffer[];
  pauseMs: number;
  /** Half-close once everything is written: the server sees the end of a cut-short request. */
  halfClose: boolean;
  /** After the status line: 'drop' resets the connection at once, 'drain' reads on until the
   *  server closes (bounded by drainMs, since a stream may go on). */
  after: 'drop' | 'drain';
}

export interface RawAnswer {
  /** Status of the final answer (interim 1xx skipped, 101 kept). */
  status?: number;
  /** The first line when it is not an HTTP status line. */
  badLine?: string;
  /** Closed (or reset: the error code) with no status line at all. */
  closedSilently?: string;
  /** Nothing came and nothing closed within answerTimeoutMs of the last byte written. */
  hang?: boolean;
}

const answerTimeoutMs = 20_000;
const drainMs = 2_000;
const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

/** The final status in `head`, undefined while incomplete; a non-HTTP first line is reported. */
function finalStatus(bytes: Buffer): { status?: number; badLine?: string } | undefined {
  let offset = 0;
  for (;;) {
    const eol = bytes.indexOf('\r\n', offset);
    if (eol < 0) return bytes.length - offset > 8 * 1024 ? { badLine: bytes.subarray(offset, offset + 80).toString('latin1') } : undefined;
    const line = bytes.subarray(offset, eol).toString('latin1');
    const m = statusLine.exec(line);
    if (!m) return { badLine: line.slice(0, 80) };
    const status = Number(m[1]);
    if (status >= 200 || status === 101) return { status };
    // An interim answer (100 Continue): the final one follows its blank line.
    const end = bytes.indexOf('\r\n\r\n', offset);
    if (end < 0) return undefined;
    offset = end + 4;
  }
}

export function rawExchange(req: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: req.port });
    let received = Buffer.alloc(0);
    let answer: RawAnswer | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (result: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const arm = (ms: number, onTimeout: () => void) => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, ms);
    };
    socket.on('data', (chunk: Buffer) => {
      if (answer) return;
      received = Buffer.concat([received, chunk]);
      const found = finalStatus(received);
      if (!found) return;
      answer = found;
      if (req.after === 'drop' || found.badLine !== undefined) finish(answer);
      else arm(drainMs, () => finish(answer!));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(answer ?? { closedSilently: err.code ?? err.message }));
    socket.on('close', () => finish(answer ?? { closedSilently: 'closed' }));
    socket.once('connect', async () => {
      for (const [i, chunk] of req.chunks.entries()) {
        if (i > 0 && req.pauseMs > 0) await new Promise((r) => setTimeout(r, req.pauseMs));
        if (settled || socket.destroyed) return;
        socket.write(chunk);
      }
      if (req.halfClose) socket.end();
      if (!answer) arm(answerTimeoutMs, () => finish({ hang: true }));
    });
  });
}
