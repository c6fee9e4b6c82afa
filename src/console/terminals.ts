// Browser terminals: a login shell on a PTY that envd starts inside the sandbox (the same Connect
// RPC the SDKs' `pty.create` uses). The page reads the output as a server-sent event stream and
// posts its keystrokes and size changes; the shell is killed when the page's stream closes.
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Process, Signal } from '../envd/gen/envd/process_pb.js';
import { envdPort } from '../protocol.js';

/** A page may hold a few terminals; this bounds what a signed-in page can start. */
const maxTerminals = 64;

export interface TerminalEvents {
  onData(bytes: Uint8Array): void;
  onEnd(why: string): void;
}

interface Terminal {
  sandboxId: string;
  client: Client<typeof Process>;
  pid: number;
  abort: AbortController;
}

function processClient(address: string, accessToken: string): Client<typeof Process> {
  const transport = createConnectTransport({
    baseUrl: `http://${address}:${envdPort}`,
    httpVersion: '1.1',
    interceptors: [(next) => (req) => {
      req.header.set('x-access-token', accessToken);
      return next(req);
    }],
  });
  return createClient(Process, transport);
}

export class Terminals {
  private readonly open = new Map<string, Terminal>();

  /** Starts a shell on a PTY of `cols`×`rows`; resolves to the terminal's id once it runs.
   *  Output goes to `events` until the shell ends or `close` is called. */
  async start(sandboxId: string, address: string, accessToken: string, size: { cols: number; rows: number }, events: TerminalEvents): Promise<string> {
    if (this.open.size >= maxTerminals) throw new Error(`too many open terminals (${maxTerminals}); close some pages`);
    const client = processClient(address, accessToken);
    const abort = new AbortController();
    const started = await this.startShell(client, size, abort.signal);
    const { stream, pid } = started;
    const id = randomBytes(16).toString('base64url');
    this.open.set(id, { sandboxId, client, pid, abort });
    void (async () => {
      let why = 'the shell ended';
      try {
        for (let r = await stream.next(); !r.done; r = await stream.next()) {
          const event = r.value.event?.event;
          if (event?.case === 'data' && event.value.output.case === 'pty') events.onData(event.value.output.value);
          else if (event?.case === 'end') why = `the shell ended (exit code ${event.value.exitCode})`;
        }
      } catch (err) {
        if (!abort.signal.aborted) why = `the connection to the sandbox ended: ${(err as Error).message}`;
      } finally {
        this.open.delete(id);
        events.onEnd(why);
      }
    })();
    return id;
  }

  /** bash, or sh in images without it (busybox, alpine). */
  private async startShell(client: Client<typeof Process>, size: { cols: number; rows: number }, signal: AbortSignal) {
    let lastError: unknown;
    for (const cmd of ['/bin/bash', '/bin/sh']) {
      const stream = client
        .start({ process: { cmd, args: ['-i', '-l'], envs: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } }, pty: { size } }, { signal })
        [Symbol.asyncIterator]();
      try {
        const first = await stream.next();
        if (!first.done && first.value.event?.event.case === 'start') return { stream, pid: first.value.event.event.value.pid };
        lastError = new Error(`envd did not start ${cmd}`);
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`cannot start a shell in the sandbox: ${(lastError as Error).message}`);
  }

  /** Keystrokes (raw bytes) for the terminal; false when there is no such terminal. */
  async input(id: string, bytes: Uint8Array): Promise<boolean> {
    const t = this.open.get(id);
    if (!t) return false;
    await t.client.sendInput({ process: { selector: { case: 'pid', value: t.pid } }, input: { input: { case: 'pty', value: bytes } } });
    return true;
  }

  async resize(id: string, size: { cols: number; rows: number }): Promise<boolean> {
    const t = this.open.get(id);
    if (!t) return false;
    await t.client.update({ process: { selector: { case: 'pid', value: t.pid } }, pty: { size } });
    return true;
  }

  /** Kills the shell and stops reading it. */
  async close(id: string): Promise<void> {
    const t = this.open.get(id);
    if (!t) return;
    this.open.delete(id);
    try {
      await t.client.sendSignal({ process: { selector: { case: 'pid', value: t.pid } }, signal: Signal.SIGKILL });
    } catch {
      // The sandbox is paused or gone: its shell went with it.
    } finally {
      t.abort.abort();
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.close(id)));
  }
}
