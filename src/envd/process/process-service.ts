// `process.Process` (protocol §4.6, §4.7): Start/Connect streams, List, input, signals, resize.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { stat } from 'node:fs/promises';
import { keepaliveMs, type Channel } from '../channel.js';
import {
  Process,
  ProcessEventSchema,
  Signal,
  type ProcessSelector,
  type StartRequest,
} from '../gen/envd/process_pb.js';
import { resolveUserPath } from '../filesystem/paths.js';
import { findProcess, runningProcesses, startProcess, type Proc, type ProcEvent } from './processes.js';
import { resizePty } from './pty.js';
import { requestUser } from '../rpc-auth.js';
import { fsError } from '../filesystem/rpc-errors.js';

type EventInit = MessageInitShape<typeof ProcessEventSchema>;

function toEvent(e: ProcEvent): EventInit {
  if (e.kind === 'end') return { event: { case: 'end', value: e.end } };
  return { event: { case: 'data', value: { output: { case: e.stream, value: e.data } } } };
}

function selected(selector: ProcessSelector | undefined): Proc {
  const s = selector?.selector ?? { case: undefined };
  const proc = findProcess(s);
  if (proc) return proc;
  const what = s.case === 'tag' ? `tag '${s.value}'` : s.case === 'pid' ? `pid ${s.value}` : 'an empty selector';
  throw new ConnectError(`process with ${what} not found`, Code.NotFound);
}

async function workingDirectory(req: StartRequest, ctx: HandlerContext) {
  const user = requestUser(ctx.requestHeader);
  let cwd: string;
  try {
    cwd = resolveUserPath(req.process?.cwd ?? '', user);
  } catch (err) {
    throw fsError(err, req.process?.cwd ?? '');
  }
  const st = await stat(cwd).catch(() => undefined);
  if (!st?.isDirectory()) throw new ConnectError(`cwd '${cwd}' does not exist`, Code.InvalidArgument);
  return { user, cwd };
}

/** Streams a subscription until the process ends or the call is aborted. */
async function* follow(proc: Proc, events: Channel<ProcEvent>, ctx: HandlerContext) {
  // Left at the abort itself, not only when the stream's consumer next asks for an event: one
  // stuck on a write to a client that went away would keep the process's output paused.
  const leave = () => proc.unsubscribe(events);
  ctx.signal.addEventListener('abort', leave, { once: true });
  try {
    yield { event: { event: { case: 'start' as const, value: { pid: proc.pid } } } };
    for await (const e of events.stream(ctx.signal, keepaliveMs(ctx.requestHeader), 'keepalive' as const)) {
      yield { event: e === 'keepalive' ? { event: { case: 'keepalive' as const, value: {} } } : toEvent(e) };
    }
  } finally {
    ctx.signal.removeEventListener('abort', leave);
    leave();
  }
}

export const processService: Partial<ServiceImpl<typeof Process>> = {
  async *start(req, ctx) {
    const config = req.process;
    if (!config?.cmd) throw new ConnectError('process.cmd is required', Code.InvalidArgument);
    const { user, cwd } = await workingDirectory(req, ctx);
    const size = req.pty?.size;
    let started;
    try {
      started = await startProcess({
        config: { cmd: config.cmd, args: config.args, envs: config.envs, cwd: config.cwd },
        user,
        cwd,
        tag: req.tag,
        stdin: req.stdin === true,
        pty: req.pty ? { cols: size?.cols ?? 0, rows: size?.rows ?? 0 } : undefined,
        timeoutMs: Number(ctx.requestHeader.get('connect-timeout-ms')) || 0,
      });
    } catch (err) {
      const cmdline = [config.cmd, ...config.args].join(' ');
      throw new ConnectError(`error starting process '${cmdline}': ${(err as Error).message}`, Code.InvalidArgument);
    }
    yield* follow(started.proc, started.events, ctx);
  },

  async *connect(req, ctx) {
    const proc = selected(req.process);
    yield* follow(proc, proc.subscribe(), ctx);
  },

  list() {
    return {
      processes: runningProcesses().map((p) => ({ pid: p.pid, tag: p.tag, config: p.config })),
    };
  },

  sendInput(req) {
    const proc = selected(req.process);
    const input = req.input?.input;
    if (!input?.case) return {};
    if ((input.case === 'pty') !== proc.isPty) {
      const msg = proc.isPty
        ? 'tty assigned to process — input should be written to the pty, not the stdin'
        : 'tty not assigned to process — input should be written to the stdin, not the pty';
      throw new ConnectError(msg, Code.FailedPrecondition);
    }
    try {
      proc.writeInput(input.value);
    } catch (err) {
      throw new ConnectError((err as Error).message, Code.FailedPrecondition);
    }
    return {};
  },

  async streamInput(requests) {
    let proc: Proc | undefined;
    for await (const req of requests) {
      if (req.event.case === 'start') proc = selected(req.event.value.process);
      else if (req.event.case === 'data') {
        const input = req.event.value.input?.input;
        if (!proc) throw new ConnectError('the first message must select the process', Code.FailedPrecondition);
        if (input?.case) proc.writeInput(input.value);
      }
    }
    return {};
  },

  closeStdin(req) {
    const proc = selected(req.process);
    if (proc.isPty) throw new ConnectError('cannot close stdin of a pty process — send Ctrl+D (0x04) instead', Code.FailedPrecondition);
    proc.closeStdin();
    return {};
  },

  async sendSignal(req) {
    const proc = selected(req.process);
    const signal = req.signal === Signal.SIGKILL ? 'SIGKILL' : req.signal === Signal.SIGTERM ? 'SIGTERM' : undefined;
    if (!signal) throw new ConnectError(`unsupported signal ${req.signal}`, Code.InvalidArgument);
    await proc.signal(signal);
    return {};
  },

  async update(req) {
    const proc = selected(req.process);
    const size = req.pty?.size;
    if (!size) return {};
    if (!proc.isPty) throw new ConnectError(`process ${proc.pid} has no pty`, Code.FailedPrecondition);
    try {
      await resizePty(proc.pid, size);
    } catch (err) {
      throw new ConnectError((err as Error).message, Code.InvalidArgument);
    }
    return {};
  },
};
