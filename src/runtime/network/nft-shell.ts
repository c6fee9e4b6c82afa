// Runs nftables transactions through one long-lived `nft -i` instead of an `nft -f -` each.
//
// Why: a process whose netfilter netlink socket closes while the kernel still has rules or elements
// of a committed transaction to free waits, in close(), for that to finish (an RCU grace period:
// 10–20 ms here). Every transaction that removes something (a rule update flushes the sandbox's
// chain) made its `nft` wait so, after the change was already in force. A socket that stays open
// never waits; the kernel frees in the background.
//
// Each transaction is one input line (its commands joined by `;`: nft commits a line as one
// batch, all or nothing), followed by a line whose output is known (`describe`, answered without
// the kernel): what nft prints before that answer is the transaction's own output, empty when it
// succeeded. Standard error is joined to standard output so the two keep their order.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

const marker = 'describe meta mark';
/** nft's interactive mode keeps every line in its history: a new process after this many bytes
 *  keeps that memory bounded. */
const maxBytesPerProcess = 8 * 1024 * 1024;

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

export class NftShell {
  private child: ChildProcess | undefined;
  /** What the marker line prints, learnt from the first answer of each process. */
  private markerOutput: string | undefined;
  private received = '';
  private sent = 0;
  private readonly waiting: Pending[] = [];

  constructor(private readonly maxBytes = maxBytesPerProcess) {}

  /** Commits `commands` (nft commands, one per item) as one transaction. */
  run(commands: string[]): Promise<void> {
    const line = commands.map((c) => c.trim()).filter(Boolean).join('; ');
    if (/[\n\r]/.test(line)) return Promise.reject(new Error('an nft command holds a line break; each transaction must be one line'));
    if (this.child && this.sent > this.maxBytes && this.waiting.length === 0) {
      // Its end of input lets it exit; its exit then concerns no one.
      this.child.stdin!.end();
      this.child = undefined;
    }
    const child = this.child ?? this.start();
    this.sent += line.length;
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.waiting.length === 1) holdOpen(child, true);
      child.stdin!.write(`${line}\n${marker}\n`);
    });
  }

  private start(): ChildProcess {
    // HOME without a folder: nft -i would write its history there at exit.
    const child = spawn('sh', ['-c', 'exec nft -i 2>&1'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, HOME: '/nonexistent' } });
    this.child = child;
    this.received = '';
    this.sent = 0;
    this.markerOutput = undefined;
    child.unref();
    holdOpen(child, false);
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8');
    // The first marker, before any transaction, says what a marker's answer looks like.
    child.stdin!.write(`${marker}\n`);
    child.stdout!.on('data', (chunk: string) => {
      if (this.child !== child) return;
      this.received += chunk;
      this.settle();
    });
    child.on('error', (err) => this.fail(child, `cannot run nft: ${err.message}`));
    child.on('exit', (code, signal) => this.fail(child, `nft -i exited (${signal ?? `status ${code}`})${this.received ? `: ${this.received.trim()}` : ''}`));
    return child;
  }

  /** Answers every transaction whose marker has come back. */
  private settle(): void {
    if (this.markerOutput === undefined) {
      const end = this.received.indexOf('\n');
      if (end < 0) return;
      this.markerOutput = this.received.slice(0, end + 1);
      this.received = this.received.slice(end + 1);
      if (!this.markerOutput.includes('mark')) this.child?.kill();
    }
    for (let i = this.received.indexOf(this.markerOutput); i >= 0 && this.waiting.length > 0; i = this.received.indexOf(this.markerOutput)) {
      const output = this.received.slice(0, i).trim();
      this.received = this.received.slice(i + this.markerOutput.length);
      const pending = this.waiting.shift()!;
      if (output === '') pending.resolve();
      else pending.reject(new Error(`nft refused the transaction: ${output.split('\n').slice(-6).join(' | ')}`));
    }
    if (this.waiting.length === 0 && this.child) holdOpen(this.child, false);
  }

  private fail(child: ChildProcess, message: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const pending of this.waiting.splice(0)) pending.reject(new Error(message));
  }
}

/** The shell keeps this process alive only while a transaction is in flight. */
function holdOpen(child: ChildProcess, on: boolean): void {
  for (const pipe of [child.stdin, child.stdout] as unknown as Socket[]) {
    if (on) pipe.ref();
    else pipe.unref();
  }
}
