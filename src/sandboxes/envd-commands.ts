// Commands the server itself runs inside a sandbox through envd's process service (the same
// Connect RPC the SDKs use): a template build's steps, a template's start and ready commands.
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Process } from '../envd/gen/envd/process_pb.js';
import { envdPort } from '../protocol.js';

export interface CommandOptions {
  /** The account it runs as (envd's default user when unset). */
  user?: string;
  cwd?: string;
  envs?: Record<string, string>;
  /** envd's access token; none before envd's first /init. */
  accessToken?: string;
  /** Connect's JSON encoding, as the SDKs send, instead of the binary one. */
  json?: boolean;
  /** Output as it comes, decoded as UTF-8. */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Connect's deadline for the whole call; unlike AbortSignal.timeout, its timer goes with the call. */
  timeoutMs?: number;
}

export interface CommandEnd {
  exitCode: number;
  /** envd's word when the command could not run or was killed. */
  error?: string;
}

function client(address: string, opts: CommandOptions) {
  const headers: Record<string, string> = {};
  if (opts.user) headers.authorization = `Basic ${Buffer.from(`${opts.user}:`).toString('base64')}`;
  if (opts.accessToken) headers['x-access-token'] = opts.accessToken;
  const transport = createConnectTransport({
    baseUrl: `http://${address}:${envdPort}`,
    httpVersion: '1.1',
    useBinaryFormat: !opts.json,
    interceptors: [(next) => (req) => {
      for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
      return next(req);
    }],
  });
  return createClient(Process, transport);
}

function startRequest(command: string, opts: CommandOptions) {
  // As the SDKs run commands: a login shell, so profile scripts set PATH and the like.
  return { process: { cmd: '/bin/bash', args: ['-l', '-c', command], envs: opts.envs ?? {}, cwd: opts.cwd } };
}

/** Runs a shell command to its end and returns its exit code. */
export async function runInSandbox(address: string, command: string, opts: CommandOptions = {}): Promise<CommandEnd> {
  const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  for await (const res of client(address, opts).start(startRequest(command, opts), { signal: opts.signal, timeoutMs: opts.timeoutMs })) {
    const event = res.event?.event;
    if (event?.case === 'data') {
      const out = event.value.output;
      if ((out.case === 'stdout' || out.case === 'stderr') && opts.onOutput) {
        opts.onOutput(decoder[out.case].decode(out.value, { stream: true }), out.case);
      }
    } else if (event?.case === 'end') {
      return { exitCode: event.value.exitCode, error: event.value.error };
    }
  }
  throw new Error(`envd ended the stream of "${command}" without its exit`);
}

/**
 * Starts a shell command that keeps running (a template's service) and hands its output to
 * `opts.onOutput` until `opts.signal` aborts the stream; the command runs on after that. Resolves
 * once it started; `ended` settles if it ends while watched.
 */
export async function startInSandbox(address: string, command: string, opts: CommandOptions = {}): Promise<{ ended: Promise<CommandEnd> }> {
  const stream = client(address, opts).start(startRequest(command, opts), { signal: opts.signal })[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  const first = await stream.next();
  if (first.done || first.value.event?.event.case !== 'start') throw new Error(`envd did not start "${command}"`);
  const ended = (async (): Promise<CommandEnd> => {
    for (let r = await stream.next(); !r.done; r = await stream.next()) {
      const event = r.value.event?.event;
      if (event?.case === 'data' && (event.value.output.case === 'stdout' || event.value.output.case === 'stderr')) {
        opts.onOutput?.(decoder.decode(event.value.output.value, { stream: true }), event.value.output.case);
      } else if (event?.case === 'end') {
        return { exitCode: event.value.exitCode, error: event.value.error };
      }
    }
    throw new Error(`envd ended the stream of "${command}" without its exit`);
  })();
  return { ended };
}
