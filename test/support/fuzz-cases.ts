// The fuzz test's requests: for the control plane, for envd through the API port, and raw bytes
// for the public listener. Each is drawn from its own seeded generator (see fuzz-random.ts).
import { maxBodyBytes } from '../../src/api/schemas.js';
import { envdPort } from '../../src/protocol.js';
import { envdRequest } from './fuzz-envd.js';
import { oddHeaders, pieces, requestBytes, type Framing, type Header, type HttpRequestSpec } from './fuzz-http.js';
import type { Random } from './fuzz-random.js';
import type { Surface } from './fuzz-statuses.js';
import type { RawRequest } from './raw-exchange.js';

export interface FuzzWorld {
  apiPort: number;
  publicPort: number;
  apiKey: string;
  domain: string;
  /** Takes envd traffic only; no control-plane call changes it. */
  live: { id: string; token: string };
  /** Takes the control plane's changes: pause, resume, timeouts, clones, snapshots, rules. */
  victim: { id: string; token: string };
  /** Killed before the run. */
  killed: string;
}

export interface FuzzCase {
  surface: Surface;
  /** What was sent, briefly, for failure reports. */
  label: string;
  request: RawRequest;
  /** A complete request a server can parse: it must get an answer, not a silent close. */
  wellFormed: boolean;
}

const unknownId = (r: Random) => r.word(20, 20);

function malformedId(r: Random): string {
  return r.pick(['', '%', '%00', '%ZZ', '..', '.', '%2e%2e', '%2F', '%E2%98%83', "'", '%22', '*', 'UPPER', ';', 'a'.repeat(r.int(100, 5000)), '%20']);
}

type IdKind = 'live' | 'victim' | 'killed' | 'unknown' | 'malformed';

function idOf(kind: IdKind, w: FuzzWorld, r: Random): string {
  switch (kind) {
    case 'live':
      return w.live.id;
    case 'victim':
      return w.victim.id;
    case 'killed':
      return w.killed;
    case 'unknown':
      return unknownId(r);
    case 'malformed':
      return malformedId(r);
  }
}

/** Timeouts: on the victim only values that keep it alive for the whole run, or invalid ones. */
function timeoutValue(r: Random, safe: boolean): unknown {
  const invalid = [0, -1, 1e9, 3601, 'x', '600', null, true, [], {}];
  const valid = safe ? [600, 1800, 3600] : [1, 30, 600, 3600, 0.5];
  return r.chance(0.5) ? r.pick(valid) : r.pick(invalid);
}

function stringMap(r: Random): unknown {
  return r.pick<unknown>([{}, { a: r.word(0, 8) }, { a: 1 }, 'x', [], null, { ['k'.repeat(r.int(1, 3000))]: 'v' }, { '': '' }, { 'a\u0000': 'b' }]);
}

function networkRules(r: Random): unknown {
  const entry = () => r.pick<unknown>(['10.0.0.0/8', '1.2.3.4', '0.0.0.0/0', 'not an ip', '999.1.1.1', '1.2.3.4/33', '', 5, null, '::1', 'example.com']);
  const list = () => r.pick<unknown>([[], [entry()], [entry(), entry()], null, 'x', 5]);
  return r.pick<unknown>([{ allowOut: list(), denyOut: list() }, { allowOut: list() }, { denyOut: list() }, {}, null, [], 'x']);
}

/** A create body that never creates: its template does not exist, or a field is wrong. An empty
 *  or `null` body would start a real `base` sandbox, so none is sent. */
function createBody(r: Random): unknown {
  const body: Record<string, unknown> = {
    templateID: r.pick<unknown>(['nosuch-' + r.word(1, 10), '', 0, null, true, [], {}, 'n'.repeat(r.int(1, 10000))]),
  };
  if (r.chance(0.5)) body.timeout = timeoutValue(r, false);
  if (r.chance(0.3)) body.metadata = stringMap(r);
  if (r.chance(0.3)) body.envVars = stringMap(r);
  if (r.chance(0.2)) body.network = networkRules(r);
  if (r.chance(0.2)) body.autoPause = r.pick<unknown>([true, false, 'yes', 1]);
  if (r.chance(0.2)) body.autoResume = r.pick<unknown>([{ enabled: true }, { enabled: 'x' }, true, null]);
  if (r.chance(0.2)) body.allow_internet_access = r.pick<unknown>([true, false, 'no']);
  if (r.chance(0.1)) body.secure = r.pick<unknown>([true, 'x']);
  return body;
}

interface ApiRoute {
  method: string;
  path: string;
  weight: number;
  /** Changes the sandbox it names: never aimed at the live one. */
  mutates: boolean;
  body?: (r: Random, onVictim: boolean) => unknown;
  query?: (r: Random, w: FuzzWorld) => string;
}

function listQuery(r: Random): string {
  const parts: string[] = [];
  for (let n = r.int(0, 4); n > 0; n--) {
    const [key, value] = r.pick<[string, () => string]>([
      ['state', () => r.pick(['running', 'paused', 'running,paused', 'killed', '', 'RUNNING', ',,', '%ZZ', r.word(1, 8)])],
      ['metadata', () => r.pick(['a%3Db', 'a=b', '%25ZZ%3Dx', '%ZZ', '=', '%26%26', 'k%3D' + 'v'.repeat(r.int(1, 5000))])],
      ['limit', () => r.pick(['1', '1000', '0', '-1', '1001', 'abc', '1.5', '1e3', '', '%205', '0x10', '9'.repeat(400)])],
      ['nextToken', () => r.pick([r.word(1, 30), Buffer.from('1:1').toString('base64url'), Buffer.from('9'.repeat(30) + ':1').toString('base64url'), Buffer.from('x').toString('base64url'), '', '%00'])],
    ]);
    parts.push(`${key}=${value()}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const apiRoutes: ApiRoute[] = [
  { method: 'POST', path: '/sandboxes', weight: 8, mutates: false, body: createBody },
  { method: 'POST', path: '/v2/sandboxes', weight: 6, mutates: false, body: createBody },
  { method: 'GET', path: '/sandboxes', weight: 7, mutates: false, query: listQuery },
  { method: 'GET', path: '/v2/sandboxes', weight: 7, mutates: false, query: listQuery },
  { method: 'GET', path: '/sandboxes/:id', weight: 10, mutates: false },
  { method: 'DELETE', path: '/sandboxes/:id', weight: 5, mutates: true },
  { method: 'POST', path: '/sandboxes/:id/timeout', weight: 8, mutates: true, body: (r, safe) => r.pick<unknown>([{ timeout: timeoutValue(r, safe) }, {}, [], 'x']) },
  { method: 'POST', path: '/sandboxes/:id/connect', weight: 5, mutates: true, body: (r, safe) => r.pick<unknown>([{ timeout: timeoutValue(r, safe) }, { timeout: timeoutValue(r, safe) }, {}, []]) },
  { method: 'POST', path: '/v2/sandboxes/:id/connect', weight: 3, mutates: true, body: (r, safe) => ({ timeout: timeoutValue(r, safe) }) },
  { method: 'POST', path: '/sandboxes/:id/pause', weight: 3, mutates: true },
  {
    method: 'POST',
    path: '/sandboxes/:id/clone',
    weight: 4,
    mutates: true,
    // Real clones of the victim are few: each is a whole new sandbox.
    body: (r, onVictim) => ({
      count: onVictim && r.chance(0.85) ? r.pick<unknown>([0, -1, 21, 1.5, 'x', 1e9, null]) : r.pick<unknown>([1, 2, 0, 21, 'x', 1e9]),
      ...(r.chance(0.3) ? { strict: r.pick<unknown>([true, false, 'x']) } : {}),
      ...(r.chance(0.3) ? { timeout: timeoutValue(r, onVictim) } : {}),
    }),
  },
  { method: 'POST', path: '/sandboxes/:id/snapshots', weight: 2, mutates: true },
  { method: 'GET', path: '/snapshots', weight: 4, mutates: false, query: (r, w) => listQuery(r) + (r.chance(0.4) ? `${r.chance(0.5) ? '&' : '?'}sandboxID=${r.pick([w.victim.id, unknownId(r), ''])}` : '') },
  { method: 'DELETE', path: '/templates/:id', weight: 4, mutates: true },
  {
    method: 'GET',
    path: '/sandboxes/:id/metrics',
    weight: 8,
    mutates: false,
    query: (r) => {
      const v = () => r.pick(['', '0', '-1', 'abc', '1e20', 'Infinity', 'NaN', '1700000000', '1.5', '9'.repeat(400), String(Math.floor(Date.now() / 1000))]);
      return r.pick(['', `?start=${v()}`, `?end=${v()}`, `?start=${v()}&end=${v()}`]);
    },
  },
  { method: 'PUT', path: '/sandboxes/:id/network', weight: 5, mutates: true, body: (r) => networkRules(r) },
  { method: 'GET', path: '/health', weight: 2, mutates: false },
  { method: 'GET', path: '/', weight: 1, mutates: false },
];

function isCreate(method: string, path: string): boolean {
  return method === 'POST' && (path === '/sandboxes' || path === '/v2/sandboxes');
}

/** Bytes no HTTP parser accepts. */
function garbageBytes(r: Random): Buffer {
  return r.pick([
    () => r.bytes(r.int(1, 2000)),
    () => Buffer.from('\r\n\r\n'),
    () => Buffer.from('GET'),
    () => Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n`),
    () => Buffer.from('get / http/1.1\r\n\r\n'),
    () => Buffer.from(`${r.word(1, 10).toUpperCase()} / HTTP/1.1\r\n\r\n`),
    () => Buffer.from('GET / HTTP/2.0\r\n\r\n'),
    () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    // The start of a TLS ClientHello, as a browser sends to a plain-HTTP port by mistake.
    () => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), r.bytes(r.int(0, 500))]),
    () => Buffer.from(`GET /${'x'.repeat(r.int(17, 70) * 1024)} HTTP/1.1\r\n\r\n`),
  ])();
}

/** Turns a request into the raw exchange; `wellFormed` as the generator judged it. */
function toCase(surface: Surface, label: string, port: number, spec: HttpRequestSpec, r: Random, wellFormed: boolean): FuzzCase {
  const odd = oddHeaders(r);
  const close = r.chance(0.5);
  const headers: Header[] = [...spec.headers, ...odd.headers];
  if (close) headers.push(['Connection', 'close']);
  const version = r.weighted([
    [94, spec.version ?? 'HTTP/1.1'],
    [4, 'HTTP/1.0'],
    [2, r.pick(['HTTP/1.2', 'HTTP/3.0', 'HTTX/1.1'])],
  ] as const);
  const { bytes, complete } = requestBytes({ ...spec, headers, version }, r);
  // A second request behind the first, on the same connection.
  const pipelined = complete && !close && r.chance(0.1) ? Buffer.from(`GET /v2/sandboxes HTTP/1.1\r\nHost: x\r\n\r\n`) : Buffer.alloc(0);
  const all = Buffer.concat([bytes, pipelined]);
  return {
    surface,
    label: `${label} [${spec.method} ${spec.target.slice(0, 120)}${spec.target.length > 120 ? '…' : ''} ${version}; ${all.length} bytes${odd.headers.length ? `; odd header ${odd.headers[0]![0].slice(0, 20)}` : ''}; framing ${spec.framing ?? 'none'}]`,
    request: {
      port,
      chunks: pieces(all, r),
      pauseMs: r.chance(0.1) ? r.int(1, 30) : 0,
      // A cut-short request is only ever ended by the client going away.
      halfClose: !complete || r.chance(0.2),
      after: close && r.chance(0.7) ? 'drain' : 'drop',
    },
    wellFormed: wellFormed && complete && !odd.malformed && (version === 'HTTP/1.1' || version === 'HTTP/1.0'),
  };
}

function apiCase(r: Random, w: FuzzWorld): FuzzCase {
  if (r.chance(0.04)) {
    return { surface: 'api', label: 'api garbage', request: { port: w.apiPort, chunks: [garbageBytes(r)], pauseMs: 0, halfClose: true, after: 'drop' }, wellFormed: false };
  }
  const route = r.weighted(apiRoutes.map((x) => [x.weight, x] as const));
  let kind: IdKind = r.weighted([
    [25, 'live'],
    [25, 'victim'],
    [15, 'killed'],
    [20, 'unknown'],
    [15, 'malformed'],
  ] as const);
  if (kind === 'live' && route.mutates) kind = 'victim';
  // Pauses and snapshots of the victim are real CRIU work: a few suffice.
  if (kind === 'victim' && (route.path.endsWith('/pause') || route.path.endsWith('/snapshots') || route.method === 'DELETE') && r.chance(0.7)) kind = 'unknown';
  // The victim stays alive for the whole run: it is killed by the clean-up only.
  if (kind === 'victim' && route.method === 'DELETE' && route.path.startsWith('/sandboxes')) kind = 'killed';
  const id = idOf(kind, w, r);
  let method = route.method;
  if (r.chance(0.1)) method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);
  // GET /sandboxes/{id} shares its path with the kill.
  if (method === 'DELETE' && route.method !== 'DELETE' && (kind === 'live' || kind === 'victim')) method = 'PATCH';
  let path = route.path.replace(':id', id);
  const mangled = r.chance(0.03);
  if (mangled) path = r.pick([path + '/', path.toUpperCase(), '/' + path, path + '/x', path.replace(/\//g, '%2F')]);
  const onVictim = kind === 'victim';
  let body: Buffer | undefined;
  let framing: Framing | undefined;
  let wellFormed = true;
  if (isCreate(method, path)) {
    body = Buffer.from(JSON.stringify(createBody(r)));
    framing = r.weighted([
      [85, 'length'],
      [10, 'chunked'],
      [5, 'long'],
    ] as const);
  } else if (route.body || method === 'POST' || method === 'PUT') {
    const kindOfBody = r.weighted([
      [75, 'json'],
      [6, 'bad-json'],
      [4, 'garbage'],
      [6, 'empty'],
      [1, 'huge'],
      [0.5, 'over-limit'],
      [3, 'deep'],
    ] as const);
    // A mutating route of the victim gets only its own, checked, body.
    const json = route.body ? route.body(r, onVictim) : {};
    switch (kindOfBody) {
      case 'json':
        body = Buffer.from(JSON.stringify(json));
        break;
      case 'bad-json':
        body = Buffer.from(r.pick(['{', '{"timeout":}', "{'a':1}", '{"a":1}}', 'NaN', '{"timeout": 1e999}', '\u0000']));
        break;
      case 'garbage':
        body = r.bytes(r.int(1, 500));
        break;
      case 'empty':
        body = Buffer.alloc(0);
        break;
      case 'huge': {
        // Padding beside the route's own fields, so the victim's body stays the checked one.
        const fields = typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {};
        body = Buffer.from(JSON.stringify({ ...fields, pad: 'p'.repeat(r.int(1, 3) * 1024 * 1024) }));
        break;
      }
      case 'over-limit':
        // Past the control plane's body limit (src/api/schemas.ts), in whatever framing.
        body = Buffer.alloc(maxBodyBytes + r.int(1, 1024 * 1024), 'x');
        break;
      case 'deep':
        body = Buffer.from('['.repeat(r.int(1000, 200000)));
        break;
    }
    // An empty body reads as `{}`, which for a clone means one real clone: the victim gets the
    // checked body instead, and all of it (no length reads as empty, a short one may cut it to
    // whitespace).
    const checked = onVictim && route.mutates && route.body !== undefined;
    if (checked && kindOfBody === 'empty') body = Buffer.from(JSON.stringify(json));
    framing = r.weighted([
      [80, 'length'],
      [8, 'chunked'],
      [4, checked ? 'length' : 'none'],
      [4, 'long'],
      [4, checked ? 'length' : 'short'],
    ] as const);
    if (framing === 'none' && body.length > 0) wellFormed = false;
  }
  const query = route.query && !mangled ? route.query(r, w) : r.chance(0.05) ? `?${r.word(1, 5)}=${r.pick(['%', '%ZZ', 'x'])}` : '';
  const headers: Header[] = [];
  if (r.chance(0.95)) headers.push(['Host', r.chance(0.97) ? `127.0.0.1:${w.apiPort}` : r.pick(['', 'x'.repeat(300), 'a b', `[::1]:${w.apiPort}`])]);
  const key = r.weighted([
    [85, ['X-API-KEY', w.apiKey]],
    [4, undefined],
    [3, ['X-API-KEY', 'e2b_' + 'f'.repeat(40)]],
    [3, ['Authorization', `Bearer ${w.apiKey}`]],
    [2, ['Authorization', 'Bearer ' + r.word(1, 40)]],
    [2, ['X-API-KEY', '']],
    [1, ['X-API-KEY', 'k'.repeat(r.int(1, 8000))]],
  ] as const);
  if (key) headers.push([key[0], key[1]]);
  if (body !== undefined) headers.push(['Content-Type', r.chance(0.9) ? 'application/json' : r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'])]);
  return toCase('api', `api ${kind} ${route.method} ${route.path}`, w.apiPort, { method, target: path + query, headers, body, framing }, r, wellFormed);
}

type Door = 'live' | 'victim' | 'killed' | 'unknown' | 'malformed';

function doorId(door: Door, w: FuzzWorld, r: Random): string {
  if (door === 'malformed') return r.pick(['', ' ', `${w.live.id},${w.victim.id}`, `${w.live.id} `, w.live.id.toUpperCase(), 'x'.repeat(r.int(100, 3000)), '../' + w.live.id]);
  return idOf(door, w, r);
}

function envdCase(r: Random, w: FuzzWorld): FuzzCase {
  const door = r.weighted([
    [80, 'live'],
    [6, 'victim'],
    [5, 'killed'],
    [5, 'unknown'],
    [4, 'malformed'],
  ] as const);
  const id = doorId(door, w, r);
  const token = door === 'victim' ? w.victim.token : w.live.token;
  const { spec, wellFormed } = envdRequest(r, token, door !== 'victim');
  const headers: Header[] = [['Host', `127.0.0.1:${w.apiPort}`]];
  const byHost = r.chance(0.1);
  if (byHost) {
    headers[0] = ['Host', `${envdPort}-${id}.${w.domain}`];
  } else {
    const names = r.pick([['E2b-Sandbox-Id'], ['Novita-Sandbox-Id'], ['e2b-sandbox-id'], ['E2b-Sandbox-Id', 'Novita-Sandbox-Id']]);
    for (const name of names) headers.push([name, id]);
    const port = r.weighted([
      [70, String(envdPort)],
      [20, undefined],
      [4, String(r.int(1, 65535))],
      [6, r.pick(['0', '65536', 'abc', '-1', `${envdPort},1`, '1e3', ' '])],
    ] as const);
    if (port !== undefined) headers.push([names[0]!.replace(/Id$/i, (m) => (m === 'Id' ? 'Port' : 'port')), port]);
  }
  return toCase('envd', `envd via ${byHost ? 'host' : 'headers'} to ${door}`, w.apiPort, { ...spec, headers: [...headers, ...spec.headers] }, r, wellFormed);
}

function publicHost(r: Random, w: FuzzWorld): { host: string | undefined; what: string; envd: boolean } {
  const d = w.domain;
  const kind = r.weighted([
    [55, 'live-envd'],
    [2, 'live-closed-port'],
    [6, 'victim-envd'],
    [6, 'killed'],
    [6, 'unknown'],
    [6, 'bad-port'],
    [6, 'bad-label'],
    [7, 'other-host'],
    [3, 'none'],
    [3, 'odd-form'],
  ] as const);
  switch (kind) {
    case 'live-envd':
      return { host: `${envdPort}-${w.live.id}.${d}`, what: kind, envd: true };
    case 'live-closed-port':
      // Nothing listens there: answered 502 after the proxy's wait for a starting server.
      return { host: `${r.int(1, 1000)}-${w.live.id}.${d}`, what: kind, envd: false };
    case 'victim-envd':
      return { host: `${envdPort}-${w.victim.id}.${d}`, what: kind, envd: true };
    case 'killed':
      return { host: `${r.pick([envdPort, 8080, 3000])}-${w.killed}.${d}`, what: kind, envd: false };
    case 'unknown':
      return { host: `${r.pick([envdPort, 8080, 1])}-${unknownId(r)}.${d}`, what: kind, envd: false };
    case 'bad-port':
      return { host: `${r.pick(['0', '65536', '99999', '12345678901', '', 'abc', '-1', '00000'])}-${w.live.id}.${d}`, what: kind, envd: false };
    case 'bad-label':
      return { host: `${r.pick(['foo', 'a.b', 'a-b-c-d', `${envdPort}_${w.live.id}`, `${envdPort}-${w.live.id}-x-y`, '\u2603', '-', `${envdPort}--${w.live.id}`])}.${d}`, what: kind, envd: false };
    case 'other-host':
      return { host: r.pick(['example.com', '127.0.0.1', d, `x${d}`, 'localhost', '', 'h'.repeat(r.int(300, 3000))]), what: kind, envd: false };
    case 'none':
      return { host: undefined, what: kind, envd: false };
    case 'odd-form':
      return {
        host: r.pick([`${envdPort}-${w.live.id}.${d}.`, `${envdPort}-${w.live.id}.${d.toUpperCase()}:80`, `${envdPort}-${w.live.id}.${d}:`, `[::1]:${w.publicPort}`, ` ${envdPort}-${w.live.id}.${d} `]),
        what: kind,
        envd: true,
      };
  }
}

function publicCase(r: Random, w: FuzzWorld): FuzzCase {
  if (r.chance(0.12)) {
    const garbage = garbageBytes(r);
    return { surface: 'public', label: `public garbage (${garbage.length} bytes)`, request: { port: w.publicPort, chunks: pieces(garbage, r), pauseMs: r.chance(0.2) ? r.int(1, 20) : 0, halfClose: true, after: 'drop' }, wellFormed: false };
  }
  const { host, what, envd } = publicHost(r, w);
  const victim = what.startsWith('victim');
  const { spec, wellFormed } = envd ? envdRequest(r, victim ? w.victim.token : w.live.token, !victim) : { spec: { method: r.pick(['GET', 'POST', 'HEAD']), target: '/', headers: [] as Header[] }, wellFormed: true };
  const headers: Header[] = host === undefined ? [] : [['Host', host]];
  if (r.chance(0.03)) headers.push(['Host', 'second.example']);
  if (r.chance(0.2)) headers.push(['User-Agent', r.pick(['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'curl/8.0', 'novita-sandbox-js'])]);
  // A pause of the victim cuts the connections spliced to it, as it does every client's of a
  // paused sandbox: those may end without an answer.
  return toCase('public', `public ${what} ${host?.slice(0, 80) ?? '(no host)'}`, w.publicPort, { ...spec, headers: [...headers, ...spec.headers] }, r, wellFormed && !victim);
}

/** The request of index i: the control plane 40 %, envd 35 %, the public listener 25 %. */
export function fuzzCase(r: Random, w: FuzzWorld): FuzzCase {
  return r.weighted([
    [40, apiCase],
    [35, envdCase],
    [25, publicCase],
  ] as const)(r, w);
}
