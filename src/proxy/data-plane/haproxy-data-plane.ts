// The data plane of public URLs and of the SDKs' sandbox calls on the API port, with HAProxy
// relaying the bytes. Node keeps every decision: a sandbox's first request reaches Node's public
// proxy or API server (routing, auto-resume, answers), and once Node has routed to a sandbox that
// takes plain traffic, the sandbox goes into HAProxy's map and its later requests go straight to
// it; a resumed sandbox goes back into the map at once. A sandbox that stops being routable
// (pause, kill) leaves the map and its open streams are cut; its next request reaches Node again.
// Traffic counters are read back for the idle timeout and the metrics.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { noRelayFigures, type RelayFigures } from '../../metrics/prometheus-hooks.js';
import type { SandboxService } from '../../sandboxes/sandbox-service.js';
import type { PublicAccess } from '../public-access.js';
import { HaproxyAdmin, sessionsTo, statCounters, tableEntries } from './haproxy-admin.js';
import { haproxyConfig, haproxyMap, haproxyThreads, type DataPlanePaths } from './haproxy-config.js';
import { HaproxyProcess } from './haproxy-process.js';
import type { HeldSocket } from './held-socket.js';
import { abortConnectionsTo } from './host-connections.js';
import { RelayTotals } from './relay-totals.js';

/** How often traffic counters are read while any sandbox is routed directly. */
const pollMs = 2_000;

export function dataPlanePaths(dir: string): DataPlanePaths {
  return {
    admin: path.join(dir, 'admin.sock'),
    map: path.join(dir, 'sandboxes.map'),
    node: { plain: path.join(dir, 'node-plain.sock'), tls: path.join(dir, 'node-tls.sock'), api: path.join(dir, 'node-api.sock') },
    retry: { plain: path.join(dir, 'retry-plain.sock'), tls: path.join(dir, 'retry-tls.sock'), api: path.join(dir, 'retry-api.sock') },
  };
}

export interface DataPlaneSettings {
  dir: string;
  binary: string;
  domain: string;
  /** Public listeners: Node's bound sockets, TLS or not. */
  binds: Array<{ socket: HeldSocket; tls: boolean }>;
  /** Certificate chain then key, for the TLS binds. */
  pem?: string;
  /** The API port's socket, served by HAProxy in front of Node's API server (haproxy-config.ts). */
  api?: HeldSocket;
}

export class HaproxyDataPlane {
  readonly paths: DataPlanePaths;
  private readonly admin: HaproxyAdmin;
  private readonly process: HaproxyProcess;
  /** Sandboxes HAProxy routes directly, with their addresses. */
  private readonly routable = new Map<string, string>();
  /** Requests counted per sandbox at the last poll, to tell new traffic. */
  private readonly seenRequests = new Map<string, number>();
  private readonly relayed = { public: new RelayTotals(), api: new RelayTotals() };
  private counters: Record<'public' | 'api', RelayFigures> = { public: noRelayFigures, api: noRelayFigures };
  private poller: NodeJS.Timeout | undefined;
  /** The poll under way: idle deadlines that come together share it. */
  private polling: Promise<void> | undefined;

  constructor(
    settings: DataPlaneSettings,
    private readonly sandboxes: SandboxService,
    private readonly access: PublicAccess | undefined,
    private readonly log: Logger,
  ) {
    this.paths = dataPlanePaths(settings.dir);
    this.admin = new HaproxyAdmin(this.paths.admin);
    const configFile = path.join(settings.dir, 'haproxy.cfg');
    const pemFile = path.join(settings.dir, 'public.pem');
    // HAProxy inherits the sockets as descriptors 3, 4, … in this order.
    const inherited = [...settings.binds.map((b) => b.socket), ...(settings.api ? [settings.api] : [])];
    const childFd = (socket: HeldSocket) => 3 + inherited.indexOf(socket);
    const binds = settings.binds.map((b) => ({ fd: childFd(b.socket), tls: b.tls }));
    const api = settings.api && { fd: childFd(settings.api) };
    this.process = new HaproxyProcess({
      binary: settings.binary,
      configFile,
      admin: this.admin,
      log,
      inherited: inherited.map((s) => s.fd),
      prepare: async () => {
        await mkdir(settings.dir, { recursive: true, mode: 0o700 });
        // A socket file left by a killed HAProxy would refuse the new bind.
        await Promise.all([this.paths.admin, ...Object.values(this.paths.retry)].map((p) => rm(p, { force: true })));
        if (settings.pem) await writeFile(pemFile, settings.pem, { mode: 0o600 });
        const threads = haproxyThreads(os.availableParallelism());
        await writeFile(configFile, haproxyConfig({ domain: settings.domain, binds, api, pemFile, paths: this.paths, threads }));
        await writeFile(this.paths.map, haproxyMap(this.routable));
      },
    });
    sandboxes.on('stopping', (id) => this.forget(id));
    // A resumed sandbox's policy is known (set at its create): its first request after the
    // resume may go straight to it.
    sandboxes.on('resumed', (id, address) => this.admit(id, address));
    sandboxes.useTrafficProbe(() => this.poll());
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async start(): Promise<void> {
    await this.process.start();
    this.poller = setInterval(() => void this.poll(), pollMs);
    this.poller.unref();
  }

  /** Node routed a request to `sandboxId` at `address`: later ones go straight there, unless the
   *  sandbox has a policy Node must apply to every request, or stopped running meanwhile. */
  admit(sandboxId: string, address: string): void {
    if (this.routable.has(sandboxId) || !this.sandboxes.isRunning(sandboxId) || this.access?.restricted(sandboxId)) return;
    this.routable.set(sandboxId, address);
    this.admin.run(`add map ${this.paths.map} ${sandboxId} ${address}`).then(
      (answer) => this.checkAnswer(answer, `add ${sandboxId} to the map`),
      (err: Error) => this.log.warn({ sandboxId, err }, `public URLs of ${sandboxId} stay relayed by Node: ${err.message}`),
    );
  }

  /** The sandbox stops taking traffic: out of the map, its open streams cut. */
  private forget(sandboxId: string): void {
    const address = this.routable.get(sandboxId);
    if (address === undefined) return;
    this.routable.delete(sandboxId);
    this.seenRequests.delete(sandboxId);
    void this.cut(sandboxId, address).catch((err: Error) => this.log.warn({ sandboxId, err }, `cutting the public connections of ${sandboxId} failed: ${err.message}`));
  }

  private async cut(sandboxId: string, address: string): Promise<void> {
    this.checkAnswer(await this.admin.run(`del map ${this.paths.map} ${sandboxId}`), `remove ${sandboxId} from the map`);
    // Another sandbox may have been given the address since; its streams are not touched when
    // it is routable again already.
    if ([...this.routable.values()].includes(address)) return;
    // Public clients are cut, as the product says of a pause. The SDKs' calls on the API port
    // are left to the abort below: HAProxy answers one not answered yet with a 502, which the
    // SDKs read as "not running", as Node's relay does.
    for (const session of sessionsTo(await this.admin.run('show sess all'), address, 'public')) {
      await this.admin.run(`shutdown session ${session}`);
    }
    // Idle server connections kept between requests belong to no stream the runtime API lists.
    await abortConnectionsTo(address);
  }

  private checkAnswer(answer: string, what: string): void {
    if (answer.trim() !== '') this.log.warn({ answer: answer.trim() }, `HAProxy could not ${what}: ${answer.trim()}`);
  }

  /** Traffic since the last poll counts as activity for the idle timeout; totals feed metrics. */
  private poll(): Promise<void> {
    this.polling ??= this.readCounters().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readCounters(): Promise<void> {
    try {
      if (this.routable.size > 0) {
        for (const entry of tableEntries(await this.admin.run('show table traffic'))) {
          const before = this.seenRequests.get(entry.key);
          if (!this.routable.has(entry.key)) continue;
          this.seenRequests.set(entry.key, entry.requests);
          // Open streams, or requests since the last poll (all of them when first seen).
          if (entry.use > 0 || entry.requests !== before) this.sandboxes.noteTraffic(entry.key);
        }
      }
      // The `sandbox` servers only: what their retries hand to Node, Node counts itself.
      const stats = statCounters(await this.admin.run('show stat'));
      const pid = this.process.pid;
      this.counters = {
        public: this.relayed.public.update(pid, directFigures(stats, ['direct_plain', 'direct_tls'])),
        api: this.relayed.api.update(pid, directFigures(stats, ['direct_api'])),
      };
    } catch (err) {
      this.log.debug({ err }, 'reading HAProxy traffic counters failed');
    }
  }

  /** What HAProxy relayed straight to sandboxes from the public listeners or the API port, as
   *  of the last poll. */
  figures(origin: 'public' | 'api'): RelayFigures {
    return this.counters[origin];
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.process.stop();
  }
}

/** The sum of the `sandbox` servers' counters of `backends`. */
function directFigures(stats: ReturnType<typeof statCounters>, backends: string[]): RelayFigures {
  const direct = backends.map((b) => stats.get(`${b}/sandbox`)).filter((c) => c !== undefined);
  return {
    opened: direct.reduce((n, c) => n + c.total, 0),
    open: direct.reduce((n, c) => n + c.current, 0),
    toSandbox: direct.reduce((n, c) => n + c.bytesIn, 0),
    fromSandbox: direct.reduce((n, c) => n + c.bytesOut, 0),
  };
}
