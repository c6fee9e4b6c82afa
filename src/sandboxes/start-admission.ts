// Starts are admitted a few at a time (a setting sized to the cores): a burst of creates waits its
// turn here instead of all starting at once, where each would take longer than its own timeouts
// allow. Waiting has no time limit; a start's timeouts count from its admission.
//
// Background starts (the warm pool's refills) go only when no create is waiting: a refill begun
// in a burst is work the burst's last creates wait behind, for a sandbox none of them can take.
export class StartAdmission {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingBackground: (() => void)[] = [];

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`start concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }

  /** Starts waiting for a slot now. */
  get queued(): number {
    return this.waiting.length + this.waitingBackground.length;
  }

  async run<T>(work: () => Promise<T>, background = false): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => (background ? this.waitingBackground : this.waiting).push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, creates first, so the count stays right.
      const next = this.waiting.shift() ?? this.waitingBackground.shift();
      if (next) next();
      else this.running--;
    }
  }
}
