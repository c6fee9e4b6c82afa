// "The internet" for network tests: a network namespace made by the test, joined to the host by a
// veth pair on 198.18.0.0/24 (the benchmarking range, never routed on real networks), with an HTTP
// server and a DNS server on 198.18.0.1. Nothing leaves the machine, except, for a test that asks
// for it, the DNS queries forwarded to the host's own resolvers.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';

export const internetAddress = '198.18.0.1';

export interface FakeInternetOptions {
  /** Which 198.18.N.0/24 and namespace (0 by default): tests that may run at once each take
   *  their own. */
  net?: number;
  /** Names under these domains (e.g. `amazonaws.com`) resolve to the fake host too, and every
   *  other name is forwarded to `upstream` (the host's resolvers) through a relay on the host's
   *  end of the veth: sandboxes reach both the fake hosts and the real ones (Debian's archive).
   *  Without it, names outside `.test` are NXDOMAIN. */
  dns?: { domains: string[]; upstream: string[] };
  /** Addresses other than 198.18.N.0/24 (e.g. a fake host on a link-local or private address, for
   *  tests of what sandboxes must not reach): the fake host's, the host end's and their prefix. */
  subnet?: { address: string; hostAddress: string; prefixLength: number };
}

export interface FakeInternet {
  /** The fake host's address (DNS on :53, HTTP on :8080). */
  address: string;
  /** Its network namespace, for servers a test runs there (`ip netns exec`). */
  namespace: string;
  close(): Promise<void>;
}

/** Answers HTTP with "hello from the internet" on :8080, and DNS on :53: an A record pointing at
 *  the server itself for every name under `.test` (NXDOMAIN for anything else, other types
 *  included) and, when `relay` is set, under `domains` (no data for other types there), with
 *  other names forwarded to the relay. */
function serverCode(address: string, dns: { domains: string[]; relay: string } | undefined): string {
  return `
const http = require('node:http');
const dgram = require('node:dgram');
const domains = ${JSON.stringify(dns?.domains ?? [])};
const relay = ${JSON.stringify(dns?.relay ?? null)};
http.createServer((req, res) => res.end('hello from the internet\\n')).listen(8080, '${address}');
const dns = dgram.createSocket('udp4');
function answer(q, i, found, code) {
  const question = q.subarray(12, i + 5);
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180 | code, 2);
  head.writeUInt16BE(1, 4); head.writeUInt16BE(found ? 1 : 0, 6); head.writeUInt32BE(0, 8);
  const record = found ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...'${address}'.split('.').map(Number)]) : Buffer.alloc(0);
  return Buffer.concat([head, question, record]);
}
function forward(q, from) {
  const [host, port] = relay.split(':');
  const out = dgram.createSocket('udp4');
  const timer = setTimeout(() => out.close(), 5000);
  out.on('message', (reply) => { clearTimeout(timer); dns.send(reply, from.port, from.address); out.close(); });
  out.on('error', () => { clearTimeout(timer); out.close(); });
  out.send(q, Number(port), host);
}
dns.on('message', (q, from) => {
  let i = 12; const labels = [];
  while (q[i] !== 0) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString().toLowerCase()); i += q[i] + 1; }
  const name = labels.join('.');
  const isA = q.readUInt16BE(i + 1) === 1;
  if (labels[labels.length - 1] === 'test') return dns.send(answer(q, i, isA, isA ? 0 : 3), from.port, from.address);
  if (domains.some((d) => name === d || name.endsWith('.' + d))) return dns.send(answer(q, i, isA, 0), from.port, from.address);
  if (relay) return forward(q, from);
  dns.send(answer(q, i, false, 3), from.port, from.address);
});
dns.bind(53, '${address}', () => console.log('ready'));
`;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function remove(ns: string): void {
  try {
    ip(['netns', 'delete', ns]);
  } catch {
    // not there
  }
}

/** Forwards each DNS query from the fake host to the first of `upstream` that answers, and the
 *  answer back: the namespace has no route out, the host does. */
async function startRelay(bindAddress: string, upstream: string[]): Promise<dgram.Socket> {
  if (upstream.length === 0) throw new Error('fake internet: no upstream resolver to forward DNS to (the host\'s /etc/resolv.conf names none)');
  const relay = dgram.createSocket('udp4');
  relay.on('message', (query, from) => {
    const ask = (n: number) => {
      if (n >= upstream.length) return;
      const out = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        out.close();
        ask(n + 1);
      }, 2000);
      out.on('message', (reply) => {
        clearTimeout(timer);
        out.close();
        relay.send(reply, from.port, from.address);
      });
      out.on('error', () => {
        clearTimeout(timer);
        out.close();
        ask(n + 1);
      });
      out.send(query, 53, upstream[n]);
    };
    ask(0);
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.bind(0, bindAddress, () => resolve());
  });
  return relay;
}

export async function startFakeInternet(opts: FakeInternetOptions = {}): Promise<FakeInternet> {
  const net = opts.net ?? 0;
  const { address, hostAddress, prefixLength } = opts.subnet ?? { address: `198.18.${net}.1`, hostAddress: `198.18.${net}.2`, prefixLength: 24 };
  const ns = net === 0 ? 'sct-inet' : `sct-inet${net}`;
  const veth = `sctinet${net}`;
  remove(ns);
  ip(['netns', 'add', ns]);
  let child: ChildProcess | undefined;
  let relay: dgram.Socket | undefined;
  try {
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['addr', 'add', `${hostAddress}/${prefixLength}`, 'dev', veth]);
    ip(['link', 'set', veth, 'up']);
    ip(['-n', ns, 'addr', 'add', `${address}/${prefixLength}`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    if (opts.dns) relay = await startRelay(hostAddress, opts.dns.upstream);
    const dns = opts.dns && relay && { domains: opts.dns.domains, relay: `${hostAddress}:${relay.address().port}` };
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', serverCode(address, dns)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.once('data', () => resolve());
      child!.once('exit', (code) => reject(new Error(`fake internet server exited with ${code}`)));
    });
  } catch (err) {
    child?.kill('SIGKILL');
    relay?.close();
    remove(ns);
    throw err;
  }
  return {
    address,
    namespace: ns,
    async close() {
      if (child!.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child!.kill('SIGKILL');
        await exited;
      }
      relay?.close();
      remove(ns);
    },
  };
}
