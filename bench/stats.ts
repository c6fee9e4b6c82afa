// Percentiles (nearest rank) and the result table of the benchmarks.
export interface Row {
  name: string;
  unit: string;
  p50?: number;
  p95?: number;
  value?: number;
  target?: string;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const fmt = (n: number | undefined) => (n === undefined ? '' : n.toFixed(n < 10 ? 2 : 1));

export function printTable(rows: Row[]): void {
  const header = ['measure', 'unit', 'p50', 'p95', 'value', 'target'];
  const cells = rows.map((r) => [r.name, r.unit, fmt(r.p50), fmt(r.p95), fmt(r.value), r.target ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}
