// The lifecycle state machine of a sandbox: its states, the transitions the operations make, how
// each state is shown to clients, and the rule recovery applies to each after a crash.
//
// A state is written to the database (one commit, in WAL, which outlives a crash of the server) before the
// runtime acts, so it doubles as the operation's intent: `pausing` says "a checkpoint may be under
// way", `resuming` "a restore may be under way", `killing` "the sandbox is being removed". The
// next state is the outcome. Operations that need more than the state to be undone or finished
// (clone, snapshot, network update) also keep a journal row (store/operation-store.ts).

import type { SandboxState } from '../store/sandbox-store.js';

export type { SandboxState };

/** Where an operation may take a sandbox; `gone` is the record deleted. */
const transitions: Record<SandboxState, readonly (SandboxState | 'gone')[]> = {
  // a create (or the pool) starting it; a failed start or a kill removes it
  starting: ['running', 'pooled', 'killing', 'gone'],
  // started ahead of demand; a create takes it
  pooled: ['running', 'killing', 'gone'],
  running: ['pausing', 'killing'],
  // a failed checkpoint leaves it running
  pausing: ['paused', 'running', 'killing'],
  paused: ['resuming', 'killing'],
  // a failed restore leaves it paused
  resuming: ['running', 'paused', 'killing'],
  killing: ['gone'],
};

export function canTransition(from: SandboxState, to: SandboxState | 'gone'): boolean {
  return transitions[from].includes(to);
}

export function assertTransition(id: string, from: SandboxState, to: SandboxState | 'gone'): void {
  if (!canTransition(from, to)) throw new Error(`sandbox ${id}: no transition from ${from} to ${to}`);
}

/** States no client sees: a create has not answered for the sandbox, or it is being removed. */
export function isHidden(state: SandboxState): boolean {
  return state === 'starting' || state === 'pooled' || state === 'killing';
}

/** How a sandbox mid-operation is listed: in the state it is leaving until the operation ends. */
export function listedState(state: SandboxState): 'running' | 'paused' {
  return state === 'paused' || state === 'pausing' ? 'paused' : 'running';
}

/** Stored states a list filter on a client-visible state matches. */
export function storedStatesFor(listed: 'running' | 'paused'): SandboxState[] {
  return listed === 'running' ? ['running', 'resuming'] : ['paused', 'pausing'];
}

/** What the runtime holds of a sandbox after a restart, once work a dead server left running
 *  (a checkpoint, a restore) has finished. */
export interface Observed {
  /** `frozen`: a snapshot checkpoint (clone, snapshot) froze it and nobody thawed it, or it was
   *  paused warm (its processes frozen in memory beside its whole checkpoint). */
  container: 'running' | 'frozen' | 'stopped' | 'absent';
  /** Whether its pause checkpoint is whole (or was finished by the checkpoint tool, only the
   *  server's mark missing). */
  checkpointWhole: boolean;
}

/**
 * What recovery does with a sandbox found in a state:
 * - `run`: it runs (thaw it first if frozen); a `resuming` one drops its checkpoint.
 * - `pause`: it is paused (cold): its checkpoint is whole; any half-restored container is removed,
 *   and processes a warm pause left frozen are ended (a restarted server keeps nothing warm).
 * - `destroy`: nothing of it can be brought back, or no client was ever answered for it.
 */
export type RecoveryAction = 'run' | 'pause' | 'destroy';

export function recoveryAction(state: SandboxState, seen: Observed): RecoveryAction {
  const alive = seen.container === 'running' || seen.container === 'frozen';
  switch (state) {
    // No create answered for it (a pooled one was never handed out): undo.
    case 'starting':
    case 'pooled':
    // The kill was asked for: finish it.
    case 'killing':
      return 'destroy';
    // Its processes are the sandbox: without them there is nothing to keep.
    case 'running':
      return alive ? 'run' : 'destroy';
    // The checkpoint either finished (the container is gone, or frozen by a warm pause, and the
    // image whole) or failed, and the checkpoint tool left the processes running (or frozen:
    // thawed). Paused warm, a whole checkpoint makes it paused cold: the frozen processes end.
    case 'pausing':
    case 'paused':
      if (seen.container === 'frozen' && seen.checkpointWhole) return 'pause';
      if (alive) return 'run';
      return seen.checkpointWhole ? 'pause' : 'destroy';
    // The restore (or the thaw of a warm pause) either finished (running; frozen, it is thawed)
    // or failed, and the checkpoint is still whole.
    case 'resuming':
      if (alive) return 'run';
      return seen.checkpointWhole ? 'pause' : 'destroy';
  }
}
