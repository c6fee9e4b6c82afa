// Runs operations on one key (a sandbox, a shared tool) one after another, so two concurrent
// pauses or resumes do one operation and the second sees its result, never a half-done state.
export class OperationQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, op: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => undefined);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return next;
  }
}
