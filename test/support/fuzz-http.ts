// HTTP/1.1 requests as bytes, for the fuzz test: any method, target, version, header and framing,
// including the ones a real client never sends.
import type { Random } from './fuzz-random.js';

export type Header = [name: string, value: string];

/** How the body is framed: its true length, chunked, none at all, or a Content-Length that
 *  promises more than is sent (`long`, the request is cut short) or less (`short`, the rest reads
 *  as a next request). */
export type Framing = 'length' | 'chunked' | 'none' | 'long' | 'short';

export interface HttpRequestSpec {
  method: string;
  target: string;
  version?: string;
  headers: Header[];
  body?: Buffer;
  framing?: Framing;
}

function chunked(body: Buffer, r: Random): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const n = Math.min(body.length - offset, r.int(1, Math.max(1, Math.ceil(body.length / 2))));
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(offset, offset + n), Buffer.from('\r\n'));
    offset += n;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The request's bytes; whether it is complete (a server can read all of it as one request). */
export function requestBytes(spec: HttpRequestSpec, r: Random): { bytes: Buffer; complete: boolean } {
  const body = spec.body ?? Buffer.alloc(0);
  // A length short of a body of 0 or 1 byte would be a length past its end.
  const framing = spec.framing === 'short' && body.length < 2 ? 'length' : (spec.framing ?? (body.length > 0 ? 'length' : 'none'));
  const headers = [...spec.headers];
  let payload = body;
  let complete = true;
  switch (framing) {
    case 'length':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = chunked(body, r);
      break;
    case 'long':
      headers.push(['Content-Length', String(body.length + r.int(1, 5000))]);
      complete = false;
      break;
    case 'short':
      headers.push(['Content-Length', String(r.int(1, Math.max(1, body.length - 1)))]);
      break;
    case 'none':
      break;
  }
  let head = `${spec.method} ${spec.target} ${spec.version ?? 'HTTP/1.1'}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]), complete };
}

/** Cuts `bytes` into 1–4 pieces, as a slow or fragmenting client sends them. */
export function pieces(bytes: Buffer, r: Random): Buffer[] {
  const count = r.weighted([
    [6, 1],
    [2, 2],
    [1, 4],
  ] as const);
  if (count === 1 || bytes.length < count) return [bytes];
  const cuts = Array.from({ length: count - 1 }, () => r.int(1, bytes.length - 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > start) out.push(bytes.subarray(start, cut));
    start = cut;
  }
  return out;
}

/** Headers no well-behaved client sends, added to some requests on every surface. */
export function oddHeaders(r: Random): { headers: Header[]; malformed: boolean } {
  const kind = r.weighted([
    [30, 'none'],
    [4, 'huge'],
    [3, 'many'],
    [2, 'bad-name'],
    [2, 'bad-value'],
    [2, 'folded'],
    [2, 'two-lengths'],
    [2, 'expect'],
    [3, 'junk'],
  ] as const);
  switch (kind) {
    case 'none':
      return { headers: [], malformed: false };
    case 'huge':
      // Beyond Node's 16 KiB head limit, and the public proxy's.
      return { headers: [['X-Fuzz-Huge', 'h'.repeat(r.int(17, 80) * 1024)]], malformed: false };
    case 'many':
      return { headers: Array.from({ length: r.int(100, 2500) }, (_, i): Header => [`X-F${i}`, r.word(0, 4)]), malformed: false };
    case 'bad-name':
      return { headers: [[r.pick(['X Fuzz', 'X-Fuzz\u0001', '(x)', 'X:Y']), 'v']], malformed: true };
    case 'bad-value':
      return { headers: [['X-Fuzz', r.pick(['a\u0000b', 'a\rb', '\u007f'])]], malformed: true };
    case 'folded':
      return { headers: [['X-Fuzz', 'first\r\n  folded']], malformed: true };
    case 'two-lengths':
      return {
        headers: [
          ['Content-Length', String(r.int(0, 9))],
          ['Content-Length', String(r.int(10, 99))],
        ],
        malformed: true,
      };
    case 'expect':
      return { headers: [['Expect', r.pick(['100-continue', 'nonsense'])]], malformed: false };
    case 'junk':
      return { headers: [[`X-${r.word(1, 8)}`, r.word(0, 40)]], malformed: false };
  }
}
