// One timer per sandbox that fires at its deadline. Deadlines further away than a Node timer can
// wait (about 24.8 days) are re-armed in steps.
const maxDelayMs = 2 ** 31 - 1;

export class DeadlineTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onDeadline: (id: string) => void) {}

  set(id: string, deadlineMs: number): void {
    this.clear(id);
    const delay = Math.max(0, deadlineMs - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (delay > maxDelayMs) this.set(id, deadlineMs);
      else this.onDeadline(id);
    }, Math.min(delay, maxDelayMs));
    timer.unref();
    this.timers.set(id, timer);
  }

  clear(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  clearAll(): void {
    for (const id of [...this.timers.keys()]) this.clear(id);
  }
}
