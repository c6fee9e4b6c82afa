// Runs submitted items in batches, one batch at a time: whatever is submitted while a batch runs
// goes together into the next one. Many sandboxes starting or stopping at once then cost a few
// nft transactions instead of one each.

/** Applies a batch; resolves to one outcome per item, in order: undefined for done, or its error. */
export type ApplyBatch<T> = (items: T[]) => Promise<(Error | undefined)[]>;

interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class BatchQueue<T> {
  private pending: Pending<T>[] = [];
  private running = false;

  constructor(private readonly apply: ApplyBatch<T>) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      let outcomes: (Error | undefined)[];
      try {
        outcomes = await this.apply(batch.map((p) => p.item));
      } catch (err) {
        outcomes = batch.map(() => err as Error);
      }
      batch.forEach((p, i) => {
        const outcome = outcomes[i];
        if (outcome) p.reject(outcome);
        else p.resolve();
      });
    }
    this.running = false;
  }
}
