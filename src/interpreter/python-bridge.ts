// The Node end of python/bridge.py: one Python process, started once, that relays Jupyter messages
// between this server and every Python kernel as JSON lines over its stdin/stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface KernelConnection {
  transport: 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
}

export interface KernelMessage {
  ch: 'iopub' | 'shell' | 'control';
  type: string;
  parent: string | null;
  content: Record<string, unknown>;
}

export interface BridgeClient {
  onMessage(message: KernelMessage): void;
  /** The bridge process ended; messages in flight are lost. */
  onBridgeLost(): void;
}

export class PythonBridge {
  private child: ChildProcess | undefined;
  private readonly clients = new Map<string, { conn: KernelConnection; client: BridgeClient }>();

  constructor(private readonly python: string, private readonly script: string) {}

  attach(key: string, conn: KernelConnection, client: BridgeClient): void {
    this.process();
    this.clients.set(key, { conn, client });
    this.write({ op: 'attach', k: key, conn });
  }

  detach(key: string): void {
    if (this.clients.delete(key)) this.write({ op: 'detach', k: key });
  }

  send(key: string, ch: 'shell' | 'control', id: string, type: string, content: object): void {
    this.write({ op: 'send', k: key, ch, id, type, content });
  }

  /** Starts the bridge ahead of the first kernel, so its start overlaps the kernel's. */
  start(): void {
    this.process();
  }

  private write(request: object): void {
    this.process().stdin!.write(JSON.stringify(request) + '\n');
  }

  /** The running bridge; a new one (re-attached to every kernel) after the last one ended. It is
   *  started on demand only, so a bridge that cannot start does not spin. */
  private process(): ChildProcess {
    if (this.child) return this.child;
    // A fixed mmap threshold: glibc otherwise raises it to the size of the last large block freed,
    // and the kernel's messages of up to 1 MiB then stayed in the heap once relayed (+14 MiB
    // after 16 MiB of output), for a pause to save.
    const env = { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' };
    const child = spawn(this.python, ['-u', this.script], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.child = child;
    // A write after the bridge died fails with EPIPE; 'close' below reports the loss.
    child.stdin!.on('error', () => {});
    child.on('error', (err) => console.error(`interpreter: the kernel bridge failed: ${err.message}`));
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      let message: KernelMessage & { k: string };
      try {
        message = JSON.parse(line) as KernelMessage & { k: string };
      } catch {
        console.error(`interpreter: unreadable line from the kernel bridge: ${line.slice(0, 200)}`);
        return;
      }
      this.clients.get(message.k)?.client.onMessage(message);
    });
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      console.error(`interpreter: the kernel bridge ended (${signal ?? code})`);
      for (const { client } of this.clients.values()) client.onBridgeLost();
    });
    for (const [key, { conn }] of this.clients) child.stdin!.write(JSON.stringify({ op: 'attach', k: key, conn }) + '\n');
    return child;
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill();
  }
}
