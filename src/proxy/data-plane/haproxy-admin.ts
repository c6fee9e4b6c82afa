// HAProxy's runtime API over its admin socket: one command per connection, answered as text.
// Commands go one at a time, in the order they were asked for, so that a map entry removed after
// it was added stays removed.
import net from 'node:net';

const commandTimeoutMs = 5_000;

export class HaproxyAdmin {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly socketPath: string) {}

  /** The answer to `command`; rejects when the socket cannot be reached. */
  run(command: string): Promise<string> {
    const next = this.last.then(
      () => send(this.socketPath, command),
      () => send(this.socketPath, command),
    );
    this.last = next.catch(() => undefined);
    return next;
  }
}

function send(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.end(`${command}\n`));
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(commandTimeoutMs, () => socket.destroy(new Error(`HAProxy did not answer '${command}' within ${commandTimeoutMs} ms`)));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('error', (err) => reject(new Error(`HAProxy runtime API (${socketPath}) failed on '${command}': ${err.message}`)));
    socket.once('close', (hadError) => {
      if (!hadError) resolve(answer);
    });
  });
}

/** Sessions of `show sess all` that came in on `frontend` and whose server connection goes to
 *  `address`, by session pointer. */
export function sessionsTo(showSessAll: string, address: string, frontend: string): string[] {
  const found: string[] = [];
  let session: string | undefined;
  let from: string | undefined;
  for (const line of showSessAll.split('\n')) {
    const start = /^(0x[0-9a-f]+): /.exec(line);
    if (start) {
      session = start[1];
      from = undefined;
      continue;
    }
    from = /^\s+frontend=(\S+) /.exec(line)?.[1] ?? from;
    const server = /^\s+server=\S+ \(id=-?\d+\) addr=([^\s]+)$/.exec(line);
    if (server && session && from === frontend && server[1]!.slice(0, server[1]!.lastIndexOf(':')) === address) found.push(session);
  }
  return found;
}

export interface TableEntry {
  key: string;
  /** Streams tracking the entry now: open requests and tunnels. */
  use: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
}

/** The entries of `show table <name>`. */
export function tableEntries(showTable: string): TableEntry[] {
  const entries: TableEntry[] = [];
  for (const line of showTable.split('\n')) {
    if (!/^0x[0-9a-f]+: /.test(line)) continue;
    const field = (name: string) => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(line)?.[1];
    const key = field('key');
    if (key === undefined) continue;
    entries.push({
      key,
      use: Number(field('use') ?? 0),
      requests: Number(field('http_req_cnt') ?? 0),
      bytesIn: Number(field('bytes_in_cnt') ?? 0),
      bytesOut: Number(field('bytes_out_cnt') ?? 0),
    });
  }
  return entries;
}

export interface StatCounters {
  /** Sessions since start, now open, bytes from clients, bytes to clients. */
  total: number;
  current: number;
  bytesIn: number;
  bytesOut: number;
}

/** The rows of `show stat` (CSV), by `proxy/server` (`proxy/BACKEND` for a backend's sums). */
export function statCounters(showStat: string): Map<string, StatCounters> {
  const lines = showStat.split('\n').filter((l) => l !== '');
  const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
  const [px, sv, stot, scur, bin, bout] = ['pxname', 'svname', 'stot', 'scur', 'bin', 'bout'].map((name) => header.indexOf(name));
  const out = new Map<string, StatCounters>();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    out.set(`${f[px!]}/${f[sv!]}`, { total: Number(f[stot!]), current: Number(f[scur!]), bytesIn: Number(f[bin!]), bytesOut: Number(f[bout!]) });
  }
  return out;
}
