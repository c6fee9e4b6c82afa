// Runs HAProxy as a child of the server: started with the generated configuration, watched, and
// started again at once if it dies (within about 100 ms; the listening sockets are Node's, so
// clients meanwhile wait in their backlog instead of being refused), stopped with the server. It
// gets SIGKILL when the server dies (setpriv's parent-death signal), so a killed server never
// leaves it serving the public ports.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../log.js';
import type { HaproxyAdmin } from './haproxy-admin.js';

const readyTimeoutMs = 10_000;
const readyPollMs = 10;
const restartDelaysMs = [50, 250, 1000, 5000];
/** Lines of HAProxy's output kept to explain a failed start. */
const keptLines = 20;

export interface HaproxyProcessOptions {
  binary: string;
  configFile: string;
  admin: HaproxyAdmin;
  log: Logger;
  /** Runs before every start, restarts included (writes the configuration and the map). */
  prepare(): Promise<void>;
  /** Listening sockets HAProxy inherits as descriptors 3, 4, … (every start gets the same ones). */
  inherited: number[];
}

export class HaproxyProcess {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restarts = 0;
  private lines: string[] = [];

  constructor(private readonly opts: HaproxyProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts HAProxy and resolves once its runtime API answers; rejects with what it printed. */
  async start(): Promise<void> {
    await this.opts.prepare();
    const args = ['--pdeathsig', 'SIGKILL', '--', this.opts.binary, '-db', '-f', this.opts.configFile];
    const child = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe', ...this.opts.inherited] });
    this.child = child;
    this.lines = [];
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        this.lines.push(line);
        if (this.lines.length > keptLines) this.lines.shift();
        // HAProxy prints only warnings and alerts on its own.
        this.opts.log.warn({ haproxy: line }, `haproxy: ${line}`);
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<string>((resolve) => {
      child.once('error', (err) => resolve(`could not be run: ${err.message}`));
      child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    });
    const ready = await Promise.race([this.waitReady(), exited]);
    if (ready !== true) {
      this.child = undefined;
      throw new Error(`HAProxy ${ready} before it was ready: ${this.lines.join(' | ') || 'no output'}`);
    }
    void exited.then((how) => this.onExit(child, how));
  }

  private async waitReady(): Promise<true | string> {
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await this.opts.admin.run('show info')).includes('Name: HAProxy')) return true;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, readyPollMs));
    }
    return `did not answer on its admin socket within ${readyTimeoutMs} ms`;
  }

  private onExit(child: ChildProcess, how: string): void {
    if (this.stopped || this.child !== child) return;
    this.child = undefined;
    this.opts.log.error({ lastOutput: this.lines }, `HAProxy (the data plane) ${how}; starting it again`);
    void this.restart();
  }

  private async restart(): Promise<void> {
    while (!this.stopped) {
      const delay = restartDelaysMs[Math.min(this.restarts++, restartDelaysMs.length - 1)]!;
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopped) return;
      try {
        await this.start();
        this.opts.log.info({ pid: this.pid }, 'HAProxy (the data plane) is serving again');
        this.restarts = 0;
        return;
      } catch (err) {
        this.opts.log.error({ err }, `HAProxy (the data plane) failed to start again: ${(err as Error).message}`);
      }
    }
  }

  /** Stops HAProxy (open connections are cut) and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
}
