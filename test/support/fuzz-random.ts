// Seeded randomness for the fuzz test: every request draws from its own generator, derived from
// the run's seed and the request's index, so one request reproduces alone whatever ran around it.

export type Random = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Whole number in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** One of the items, each with its weight. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T;
  /** Printable ASCII letters and digits. */
  word(min: number, max: number): string;
  bytes(n: number): Buffer;
};

/** mulberry32: small, fast, and good enough to pick test inputs. */
function mulberry32(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The generator of request `index` in the run with `seed`. */
export function randomFor(seed: number, index: number): Random {
  const next = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  // A few draws first: neighbouring states of mulberry32 start out alike.
  for (let i = 0; i < 4; i++) next();
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const r: Random = {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => items[int(0, items.length - 1)]!,
    weighted(items) {
      let x = next() * items.reduce((sum, [w]) => sum + w, 0);
      for (const [w, item] of items) {
        if ((x -= w) < 0) return item;
      }
      return items[items.length - 1]![1];
    },
    word(min, max) {
      let s = '';
      for (let n = int(min, max); n > 0; n--) s += alphabet[int(0, alphabet.length - 1)];
      return s;
    },
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(0, 255);
      return b;
    },
  };
  return r;
}
