// A queue between an event source (a process, a directory watcher) and one server stream. The
// stream side yields a keepalive whenever nothing happened for a while, and stops as soon as the
// RPC is aborted (client gone, deadline reached).

export class Channel<T> {
  private items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  /** Called after the consumer took an item (the producer may resume a paused source). */
  onTake: (() => void) | undefined;

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake?.();
  }

  /** No more items; the stream ends once the queued ones are consumed. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Yields the items, and `keepalive` after every `keepaliveMs` without one. */
  async *stream<K>(signal: AbortSignal, keepaliveMs: number, keepalive: K): AsyncGenerator<T | K> {
    while (!signal.aborted) {
      const item = this.items.shift();
      if (item !== undefined) {
        this.onTake?.();
        yield item;
        continue;
      }
      if (this.closed) return;
      if ((await this.next(signal, keepaliveMs)) === 'idle') yield keepalive;
    }
  }

  private next(signal: AbortSignal, ms: number): Promise<'ready' | 'idle'> {
    return new Promise((resolve) => {
      const finish = (why: 'ready' | 'idle') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve(why);
      };
      const onAbort = () => finish('ready');
      const timer = setTimeout(() => finish('idle'), ms);
      this.wake = () => finish('ready');
      signal.addEventListener('abort', onAbort);
    });
  }
}

/** Keepalive period from the `Keepalive-Ping-Interval` header (seconds, default 50), a bit early. */
export function keepaliveMs(headers: Headers): number {
  const seconds = Number(headers.get('keepalive-ping-interval'));
  const interval = Number.isFinite(seconds) && seconds > 0 ? seconds : 50;
  return Math.max(500, interval * 800);
}
