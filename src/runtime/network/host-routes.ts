// The IPv4 networks the host has routes for, from /proc/net/route (one small read, no process).
import { readFileSync } from 'node:fs';

/** `a.b.c.d/len` of every route in the main table except the default route. */
export function routedNetworks(): Set<string> {
  return parseRouteTable(readFileSync('/proc/net/route', 'utf8'));
}

export function parseRouteTable(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] === '00000000') continue;
    out.add(`${hexToIPv4(f[1]!)}/${maskBits(f[7]!)}`);
  }
  return out;
}

/** The file prints addresses as little-endian hex words. */
function hexToIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function maskBits(hex: string): number {
  let n = parseInt(hex, 16) >>> 0;
  let bits = 0;
  while (n) {
    bits += n & 1;
    n >>>= 1;
  }
  return bits;
}
