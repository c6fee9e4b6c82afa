// HAProxy's counters start from zero whenever it is started again (haproxy-process.ts restarts it
// when it dies); the server's totals since its own start must not go back with them.
import type { RelayFigures } from '../../metrics/prometheus-hooks.js';

type Totals = Omit<RelayFigures, 'open'>;

const zero: Totals = { opened: 0, toSandbox: 0, fromSandbox: 0 };

export class RelayTotals {
  /** What earlier HAProxy processes counted. */
  private carried: Totals = zero;
  /** The running process's counters at the last reading, and its pid. */
  private last: Totals = zero;
  private lastPid: number | undefined;

  /** The figures since the server started, given the counters of HAProxy process `pid` now. */
  update(pid: number | undefined, read: RelayFigures): RelayFigures {
    if (pid !== this.lastPid) {
      this.carried = sum(this.carried, this.last);
      this.lastPid = pid;
    }
    this.last = { opened: read.opened, toSandbox: read.toSandbox, fromSandbox: read.fromSandbox };
    return { ...sum(this.carried, this.last), open: read.open };
  }
}

function sum(a: Totals, b: Totals): Totals {
  return { opened: a.opened + b.opened, toSandbox: a.toSandbox + b.toSandbox, fromSandbox: a.fromSandbox + b.fromSandbox };
}
