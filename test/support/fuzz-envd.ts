// Requests for envd (Connect RPC and /files) as the fuzz test sends them, through whichever door
// the caller opens (the API port's SDK headers or a public host name). Paths that change files
// stay under scratch folders, and no request re-initialises envd, so the sandbox survives it.
import { fromJson, toBinary, type DescMethod, type JsonValue } from '@bufbuild/protobuf';
import { Filesystem } from '../../src/envd/gen/envd/filesystem_pb.js';
import { Process } from '../../src/envd/gen/envd/process_pb.js';
import type { Framing, Header, HttpRequestSpec } from './fuzz-http.js';
import type { Random } from './fuzz-random.js';

const methods: DescMethod[] = [...Process.methods, ...Filesystem.methods];
/** Directory watches keep an inotify descriptor that CRIU cannot dump for most paths of the
 *  sandbox's overlay root, so a sandbox with one can be neither paused nor cloned (reported
 *  separately); the sandbox that is paused and cloned during the fuzz gets none. */
const watchMethods = new Set(['WatchDir', 'CreateWatcher']);

/** Paths only read, listed or watched. */
function readPath(r: Random): string {
  return r.pick([
    '',
    '~',
    '~/',
    '/',
    '/etc',
    '/etc/hostname',
    '/etc/passwd',
    '/tmp',
    '/tmp/fuzz',
    '/home/user',
    '.',
    '..',
    '../..',
    '//etc//hostname',
    '/nonexistent/x',
    '~nobody',
    '~x/y',
    'missing-' + r.word(1, 8),
    '/etc/hostname/x',
    '/proc/self/status',
    '/root',
    '/dev/null',
    '/tmp/\u2603',
    'a\u0000b',
    '/tmp/' + 'n'.repeat(r.int(250, 400)),
    '/' + 'd/'.repeat(r.int(2100, 2500)),
  ]);
}

/** Paths that may be created, moved or removed: all under scratch folders or impossible. */
function scratchPath(r: Random): string {
  const name = r.word(1, 10);
  return r.pick([
    `/tmp/fuzz/${name}`,
    `/tmp/fuzz/${name}/${r.word(1, 6)}`,
    `fuzz/${name}`,
    `~/fuzz/${name}`,
    `/tmp/fuzz/a\u0000${name}`,
    `/tmp/fuzz/${'x'.repeat(r.int(250, 400))}`,
    `/tmp/fuzz/${'d/'.repeat(r.int(2100, 2500))}`,
    `/etc/hostname/${name}`,
    `/proc/fuzz-${name}`,
    `~x/${name}`,
    `/tmp/fuzz/\u2603${name}`,
  ]);
}

function selector(r: Random): JsonValue {
  return r.pick<JsonValue>([{ pid: r.int(0, 70000) }, { tag: r.word(0, 8) }, {}, { pid: -1 }, { pid: 'x' }, { pid: 1, tag: 'both' }, null, 5]);
}

function ptySize(r: Random): JsonValue {
  return { size: { cols: r.pick([0, 1, 80, 65535, 2 ** 32, -1]), rows: r.pick([0, 24, 65535, 'x']) } };
}

/** A JSON message for `method`, mostly of the right shape with odd values. */
function messageFor(method: DescMethod, r: Random): JsonValue {
  const str = () => r.pick<JsonValue>([r.word(0, 12), '', 5, null, true, ['x'], { a: 1 }]);
  switch (method.name) {
    case 'Start': {
      const cmd = r.pick<JsonValue>(['/bin/true', '/bin/false', 'true', 'echo', '', '/bin/sh', 'no-such-command-' + r.word(1, 6), '/etc/hostname', '/tmp', 7]);
      const args = cmd === '/bin/sh' ? ['-c', `exit ${r.int(0, 255)}`] : r.pick<JsonValue>([[], [r.word(0, 8)], ['a\u0000b'], 'x', [1]]);
      const envs = r.pick<JsonValue>([{}, { A: r.word(0, 8) }, { '': 'x' }, { 'A=B': 'c' }, { A: 'b\u0000c' }, { A: 1 }, []]);
      const process: Record<string, JsonValue> = { cmd, args, envs };
      if (r.chance(0.5)) process.cwd = readPath(r);
      const msg: Record<string, JsonValue> = { process };
      if (r.chance(0.3)) msg.tag = str();
      if (r.chance(0.3)) msg.stdin = r.pick<JsonValue>([true, false, 'yes']);
      if (r.chance(0.2)) msg.pty = ptySize(r);
      if (r.chance(0.05)) delete msg.process;
      return msg;
    }
    case 'Connect':
    case 'CloseStdin':
      return { process: selector(r) };
    case 'List':
      return r.pick<JsonValue>([{}, { x: 1 }, []]);
    case 'SendInput':
      return { process: selector(r), input: r.pick<JsonValue>([{ stdin: 'aGVsbG8=' }, { pty: 'aGk=' }, { stdin: '!!' }, {}, { stdin: 'aA==', pty: 'aA==' }]) };
    case 'StreamInput':
      return r.pick<JsonValue>([{ start: { process: selector(r) } }, { data: { input: { stdin: 'aGk=' } } }, { keepalive: {} }, {}]);
    case 'SendSignal':
      return { process: selector(r), signal: r.pick<JsonValue>(['SIGNAL_SIGKILL', 'SIGNAL_SIGTERM', 'SIGNAL_UNSPECIFIED', 9, 15, 2, 'SIGHUP', -1]) };
    case 'Update':
      return { process: selector(r), pty: r.chance(0.7) ? ptySize(r) : null };
    case 'Stat':
      return { path: readPath(r) };
    case 'ListDir': {
      const path = readPath(r);
      // Deep walks only where the tree is small: a deep walk of / would list all of /proc.
      const deep = path === '/tmp/fuzz' || path === '~';
      return { path, depth: r.pick<JsonValue>(deep ? [0, 1, 2, 4, -1, 'x'] : [0, 1, -1, 1.5, 2 ** 32, 'x']) };
    }
    case 'MakeDir':
    case 'Remove':
      // Never empty: that names the user's home, and a Remove of it would take the sandbox's
      // working directory away from every later request.
      return { path: r.chance(0.1) ? r.pick<JsonValue>([5, true, ['x'], { a: 1 }, r.word(1, 12)]) : scratchPath(r) };
    case 'Move': {
      const source = scratchPath(r);
      return { source, destination: r.chance(0.2) ? `${source}/${r.word(1, 4)}` : scratchPath(r) };
    }
    case 'WatchDir':
    case 'CreateWatcher': {
      const path = readPath(r);
      // Recursive watches only on small trees: each folder below costs an inotify watch.
      return { path, recursive: path === '/tmp/fuzz' || path === '~' ? r.chance(0.5) : false };
    }
    case 'GetWatcherEvents':
    case 'RemoveWatcher':
      return { watcherId: r.pick<JsonValue>([r.word(0, 36), '', 5]) };
    default:
      return {};
  }
}

/** A Connect envelope: flags, big-endian length, data. */
function envelope(flags: number, data: Buffer, length = data.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, data]);
}

/** The message as protobuf bytes when its JSON fits the schema; otherwise random bytes (only
 *  for methods that change nothing, where random bytes cannot name a real path to remove). */
function protoBytes(method: DescMethod, json: JsonValue, r: Random): Buffer {
  try {
    return Buffer.from(toBinary(method.input, fromJson(method.input, json, { ignoreUnknownFields: true })));
  } catch {
    const mutating = ['Start', 'MakeDir', 'Remove', 'Move', 'SendSignal'].includes(method.name);
    return mutating ? Buffer.from([0xff, 0xff]) : r.bytes(r.int(0, 64));
  }
}

export interface EnvdRequest {
  spec: HttpRequestSpec;
  /** The request is one a server can read whole (false: cut short or malformed on purpose). */
  wellFormed: boolean;
}

/** Headers every envd request carries besides the door's: the access token and user. */
function accessHeaders(r: Random, token: string): Header[] {
  const headers: Header[] = [];
  const t = r.weighted([
    [80, token],
    [7, undefined],
    [7, 'wrong-' + r.word(4, 20)],
    [3, ''],
    [3, token + 'x'],
  ] as const);
  if (t !== undefined) headers.push(['X-Access-Token', t]);
  const auth = r.weighted([
    [70, undefined],
    [10, `Basic ${Buffer.from('user:').toString('base64')}`],
    [8, `Basic ${Buffer.from('root:').toString('base64')}`],
    [5, `Basic ${Buffer.from('nosuch' + r.word(1, 5) + ':').toString('base64')}`],
    [4, 'Basic !!!notbase64'],
    [3, 'Bearer x'],
  ] as const);
  if (auth !== undefined) headers.push(['Authorization', auth]);
  return headers;
}

function rpcRequest(r: Random, token: string, watches: boolean): EnvdRequest {
  const method = r.pick(watches ? methods : methods.filter((m) => !watchMethods.has(m.name)));
  const streamingIn = method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
  const streaming = method.methodKind !== 'unary';
  const procedure = `/${method.parent.typeName}/${method.name}`;
  const target = r.weighted([
    [90, procedure],
    [2, procedure.toLowerCase()],
    [2, `${procedure}/extra`],
    [2, `/${method.parent.typeName}/No${method.name}`],
    [2, `/${method.parent.typeName}`],
    [2, `${procedure}?connect=v1&encoding=json&message=${encodeURIComponent('{}')}`],
  ] as const);
  const json = messageFor(method, r);
  const proto = r.chance(0.25);
  // Remove and Move get only whole messages: a cut or empty one could decode as an empty path,
  // which is the user's home.
  const destructive = method.name === 'Remove' || method.name === 'Move';
  const contentType = r.weighted([
    [88, streaming ? (proto ? 'application/connect+proto' : 'application/connect+json') : proto ? 'application/proto' : 'application/json'],
    [3, streaming ? 'application/json' : 'application/connect+json'],
    [2, 'application/json; charset=utf-8'],
    [2, 'text/plain'],
    [2, 'application/grpc'],
    [2, undefined],
    [1, 'application/' + r.word(1, 10)],
  ] as const);
  let data: Buffer = proto ? protoBytes(method, json, r) : Buffer.from(JSON.stringify(json));
  let wellFormed = true;
  const bodyKind = destructive
    ? 'message'
    : r.weighted([
        [80, 'message'],
        [5, 'garbage'],
        [5, 'truncated'],
        [4, 'empty'],
        [1, 'huge'],
      ] as const);
  if (bodyKind === 'garbage') data = r.bytes(r.int(1, 300));
  else if (bodyKind === 'truncated') data = data.subarray(0, r.int(0, Math.max(0, data.length - 1)));
  else if (bodyKind === 'empty') data = Buffer.alloc(0);
  else if (bodyKind === 'huge') data = Buffer.from(JSON.stringify({ path: 'h'.repeat(r.int(1, 3) * 1024 * 1024) }));
  let body = data;
  if (streaming) {
    const framing = r.weighted([
      [85, 'one'],
      [4, 'compressed-flag'],
      [3, 'end-flag'],
      [3, 'long'],
      [2, 'short'],
      [3, 'bare'],
    ] as const);
    if (framing === 'one') body = envelope(0, data);
    else if (framing === 'compressed-flag') body = envelope(1, data);
    else if (framing === 'end-flag') body = envelope(2, data);
    else if (framing === 'long') {
      body = envelope(0, data, data.length + r.int(1, 1000));
      wellFormed = false;
    } else if (framing === 'short') body = envelope(0, data, Math.max(0, data.length - r.int(1, 5)));
    if (streamingIn && framing === 'one' && r.chance(0.5)) {
      body = Buffer.concat([body, envelope(0, Buffer.from(JSON.stringify(messageFor(method, r)))), envelope(2, Buffer.from('{}'))]);
    }
  }
  const headers: Header[] = accessHeaders(r, token);
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  const version = r.weighted([
    [80, '1'],
    [15, undefined],
    [5, '2'],
  ] as const);
  if (version !== undefined) headers.push(['Connect-Protocol-Version', version]);
  if (r.chance(0.05)) headers.push(['Connect-Timeout-Ms', r.pick(['0', '1', '-5', 'abc', '99999999999', '500'])]);
  if (r.chance(0.03)) headers.push([streaming ? 'Connect-Content-Encoding' : 'Content-Encoding', r.pick(['gzip', 'br', 'identity', 'x'])]);
  if (r.chance(0.03)) headers.push(['Keepalive-Ping-Interval', r.pick(['1', '0', 'x'])]);
  const httpMethod = r.weighted([
    [92, 'POST'],
    [4, 'GET'],
    [2, 'PUT'],
    [1, 'DELETE'],
    [1, 'OPTIONS'],
  ] as const);
  const framing: Framing = destructive
    ? 'length'
    : r.weighted([
        [85, 'length'],
        [8, 'chunked'],
        [4, 'long'],
        [3, 'short'],
      ] as const);
  if (framing === 'long') wellFormed = false;
  return { spec: { method: httpMethod, target, headers, body, framing }, wellFormed };
}

function multipart(r: Random, boundary: string, files: Array<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const field = r.chance(0.9) ? 'file' : r.word(1, 5);
    const filename = r.chance(0.9) ? `; filename="${f.name}"` : '';
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"${filename}\r\nContent-Type: application/octet-stream\r\n\r\n`), f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

function filesRequest(r: Random, token: string): EnvdRequest {
  const upload = r.chance(0.45);
  const query = new URLSearchParams();
  const path = upload ? scratchPath(r) : readPath(r);
  if (r.chance(0.85)) query.set('path', path);
  if (r.chance(0.3)) query.set('username', r.pick(['user', 'root', '', 'nosuch' + r.word(1, 4), 'a\u0000b']));
  if (r.chance(0.08)) query.set('signature', r.pick(['v1_' + r.word(10, 43), '', 'garbage']));
  if (r.chance(0.05)) query.set('signature_expiration', r.pick(['0', '-1', 'x', '99999999999', '']));
  const qs = query.toString();
  let target = qs ? `/files?${qs}` : '/files';
  if (r.chance(0.03)) target += '&path=' + r.pick(['%ZZ', '%00', '%']);
  const headers = accessHeaders(r, token);
  let wellFormed = true;
  let body: Buffer | undefined;
  let framing: Framing | undefined;
  let method: string = upload ? 'POST' : 'GET';
  if (r.chance(0.04)) method = r.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
  if (!upload) {
    if (r.chance(0.3)) headers.push(['Accept-Encoding', r.pick(['gzip', 'identity', 'identity;q=0', '*;q=0', 'gzip;q=0, identity;q=0', 'br', 'gzip;q=abc', ',,,', 'x'.repeat(r.int(1, 3000))])]);
    return { spec: { method, target, headers }, wellFormed };
  }
  const data = r.chance(0.01) ? Buffer.alloc(r.int(1, 4) * 1024 * 1024, 0x61) : r.bytes(r.int(0, 2000));
  const kind = r.weighted([
    [50, 'multipart'],
    [15, 'octet'],
    [8, 'multipart-truncated'],
    [5, 'multipart-no-boundary'],
    [4, 'multipart-mixed'],
    [5, 'multipart-garbage'],
    [4, 'gzip-garbage'],
    [3, 'text'],
    [3, 'none'],
    [3, 'gzip-multipart'],
  ] as const);
  const boundary = 'fz' + r.word(4, 20);
  const files = Array.from({ length: r.weighted([[8, 1], [2, 2], [1, 3]] as const) }, () => ({ name: r.chance(0.5) ? path : scratchPath(r), data }));
  switch (kind) {
    case 'multipart':
      headers.push(['Content-Type', `multipart/form-data; boundary=${boundary}`]);
      body = multipart(r, boundary, files);
      break;
    case 'multipart-truncated': {
      headers.push(['Content-Type', `multipart/form-data; boundary=${boundary}`]);
      const whole = multipart(r, boundary, files);
      body = whole.subarray(0, r.int(0, whole.length - 1));
      break;
    }
    case 'multipart-no-boundary':
      headers.push(['Content-Type', 'multipart/form-data']);
      body = multipart(r, boundary, files);
      break;
    case 'multipart-mixed':
      headers.push(['Content-Type', `multipart/${r.pick(['mixed', 'x', ''])}; boundary=${boundary}`]);
      body = multipart(r, boundary, files);
      break;
    case 'multipart-garbage':
      headers.push(['Content-Type', `multipart/form-data; boundary=${boundary}`]);
      body = r.bytes(r.int(0, 500));
      break;
    case 'octet':
      headers.push(['Content-Type', 'application/octet-stream']);
      body = data;
      break;
    case 'gzip-garbage':
      headers.push(['Content-Type', r.pick(['application/octet-stream', `multipart/form-data; boundary=${boundary}`])], ['Content-Encoding', 'gzip']);
      body = r.bytes(r.int(0, 300));
      break;
    case 'gzip-multipart':
      headers.push(['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Encoding', r.pick(['gzip', 'br', 'deflate'])]);
      body = multipart(r, boundary, files);
      break;
    case 'text':
      headers.push(['Content-Type', 'text/plain']);
      body = data;
      break;
    case 'none':
      body = data;
      break;
  }
  framing = r.weighted([
    [85, 'length'],
    [8, 'chunked'],
    [5, 'long'],
    [2, 'short'],
  ] as const);
  if (framing === 'long') wellFormed = false;
  return { spec: { method, target, headers, body, framing }, wellFormed };
}

/** envd's core endpoints and paths it does not serve. /init goes only without the right token:
 *  with it, the request would hand envd a new token and user. */
function otherRequest(r: Random, token: string): EnvdRequest {
  const which = r.pick(['/health', '/envs', '/init', '/', '/nope', '/files/x', '//files', '/process.Process', '/' + r.word(1, 20)]);
  const headers: Header[] = which === '/init' ? (r.chance(0.5) ? [['X-Access-Token', 'wrong']] : []) : accessHeaders(r, token);
  const method = r.pick(['GET', 'POST', 'PUT', 'DELETE']);
  const body = method === 'GET' ? undefined : Buffer.from(r.pick(['{}', '{"accessToken":"x"}', 'not json', '[]', '']));
  return { spec: { method, target: which, headers, body }, wellFormed: true };
}

/** One request for envd of the sandbox whose access token is `token`; `watches`: whether it may
 *  start directory watches. */
export function envdRequest(r: Random, token: string, watches: boolean): EnvdRequest {
  return r.weighted([
    [60, () => rpcRequest(r, token, watches)],
    [30, () => filesRequest(r, token)],
    [10, () => otherRequest(r, token)],
  ] as const)();
}
