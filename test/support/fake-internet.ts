// "The internet" for network tests: a network namespace made by the test, joined to the host by a
// veth pair on 198.18.0.0/24 (the benchmarking range, never routed on real networks), with an HTTP
// server and a DNS server on 198.18.0.1. Nothing leaves the machine.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export const internetAddress = '198.18.0.1';
const hostAddress = '198.18.0.2';
const ns = 'sct-inet';
const veth = 'sctinet0';

/** Answers HTTP with "hello from the internet" on :8080, and DNS on :53 with an A record for
 *  every name under `.test` pointing at the server itself (NXDOMAIN for anything else). */
const serverCode = `
const http = require('node:http');
const dgram = require('node:dgram');
http.createServer((req, res) => res.end('hello from the internet\\n')).listen(8080, '${internetAddress}');
const dns = dgram.createSocket('udp4');
dns.on('message', (q, from) => {
  let i = 12; const labels = [];
  while (q[i] !== 0) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString()); i += q[i] + 1; }
  const question = q.subarray(12, i + 5);
  const found = labels[labels.length - 1] === 'test' && q.readUInt16BE(i + 1) === 1;
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(found ? 0x8180 : 0x8183, 2);
  head.writeUInt16BE(1, 4); head.writeUInt16BE(found ? 1 : 0, 6); head.writeUInt32BE(0, 8);
  const answer = found ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...'${internetAddress}'.split('.').map(Number)]) : Buffer.alloc(0);
  dns.send(Buffer.concat([head, question, answer]), from.port, from.address);
});
dns.bind(53, '${internetAddress}', () => console.log('ready'));
`;

export interface FakeInternet {
  close(): Promise<void>;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function remove(): void {
  try {
    ip(['netns', 'delete', ns]);
  } catch {
    // not there
  }
}

export async function startFakeInternet(): Promise<FakeInternet> {
  remove();
  ip(['netns', 'add', ns]);
  let child: ChildProcess | undefined;
  try {
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['addr', 'add', `${hostAddress}/24`, 'dev', veth]);
    ip(['link', 'set', veth, 'up']);
    ip(['-n', ns, 'addr', 'add', `${internetAddress}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.once('data', () => resolve());
      child!.once('exit', (code) => reject(new Error(`fake internet server exited with ${code}`)));
    });
  } catch (err) {
    child?.kill('SIGKILL');
    remove();
    throw err;
  }
  return {
    async close() {
      if (child!.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child!.kill('SIGKILL');
        await exited;
      }
      remove();
    },
  };
}
