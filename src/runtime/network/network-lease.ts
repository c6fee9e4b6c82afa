// Address arithmetic for sandbox networks: the server's private range is cut into /30 blocks,
// one per sandbox (host end .1, sandbox end .2 of each block), so no two sandboxes share a link.
import type { NetworkLease } from '../runtime.js';

function parseIPv4(addr: string): number {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${addr}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class NetworkRange {
  private readonly base: number;
  /** Number of /30 blocks in the range. */
  readonly size: number;
  /** The range in its canonical form (host bits cleared): equal strings, equal ranges. */
  readonly cidr: string;

  constructor(cidr: string) {
    const [addr, bits] = cidr.split('/');
    const prefix = Number(bits);
    if (!addr || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
      throw new Error(`network range must be an IPv4 CIDR between /8 and /30, got ${cidr}`);
    }
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    this.base = (parseIPv4(addr) & mask) >>> 0;
    this.size = 2 ** (30 - prefix);
    this.cidr = `${formatIPv4(this.base)}/${prefix}`;
  }

  /** The block's network, `a.b.c.d/30`, as the host's routing table names it. */
  network(index: number): string {
    return `${formatIPv4(this.base + index * 4)}/30`;
  }

  lease(index: number): NetworkLease {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new Error(`network index ${index} outside the range of ${this.size} blocks`);
    }
    const block = this.base + index * 4;
    return { index, hostAddress: formatIPv4(block + 1), sandboxAddress: formatIPv4(block + 2), prefixLength: 30 };
  }

  /** The first index not in `used` at or after `from`, wrapping around; undefined when the range
   *  is full. Callers move `from` past each lease, so a block just freed is the last to be
   *  reused: its host end may linger while the kernel tears its namespace down. */
  nextFree(used: Set<number>, from: number): number | undefined {
    for (let k = 0; k < this.size; k++) {
      const i = (from + k) % this.size;
      if (!used.has(i)) return i;
    }
    return undefined;
  }

  /** The next free block (as nextFree) whose network the host does not route: a routed one is
   *  still held by an interface (another server, or a namespace the kernel is tearing down).
   *  Gives up after a few routed blocks in a row, undefined then as when the range is full. */
  pick(used: ReadonlySet<number>, from: number, routed: ReadonlySet<string>): number | undefined {
    const skipped = new Set(used);
    let start = from;
    for (let tries = 0; tries < maxRoutedSkips; tries++) {
      const index = this.nextFree(skipped, start);
      if (index === undefined || !routed.has(this.network(index))) return index;
      skipped.add(index);
      start = index + 1;
    }
    return undefined;
  }
}

const maxRoutedSkips = 64;
