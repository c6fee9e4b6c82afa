// The end event of a process, worded like the real envd (Go's os.ProcessState): clients and their
// users compare these strings ("exit status 1", "signal: killed").
import { constants } from 'node:os';

export interface EndInfo {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string;
}

// Go's names for Linux signals (syscall.Signal.String()).
const goSignalNames = [
  '', 'hangup', 'interrupt', 'quit', 'illegal instruction', 'trace/breakpoint trap', 'aborted',
  'bus error', 'floating point exception', 'killed', 'user defined signal 1', 'segmentation fault',
  'user defined signal 2', 'broken pipe', 'alarm clock', 'terminated', 'stack fault', 'child exited',
  'continued', 'stopped (signal)', 'stopped', 'stopped (tty input)', 'stopped (tty output)',
  'urgent I/O condition', 'CPU time limit exceeded', 'file size limit exceeded',
  'virtual timer expired', 'profiling timer expired', 'window changed', 'I/O possible',
  'power failure', 'bad system call',
];

export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** The name of signal number `n` (SIGKILL for 9); null for a number Linux does not name. */
export function signalName(n: number): NodeJS.Signals | null {
  return signalNames.get(n) ?? null;
}

export function endInfo(code: number | null, signal: NodeJS.Signals | null): EndInfo {
  if (signal !== null) {
    const n = signalNumber(signal);
    const status = `signal: ${goSignalNames[n] || `signal ${n}`}`;
    return { exitCode: -1, exited: false, status, error: status };
  }
  const exitCode = code ?? 0;
  const status = `exit status ${exitCode}`;
  return exitCode === 0 ? { exitCode, exited: true, status } : { exitCode, exited: true, status, error: status };
}
