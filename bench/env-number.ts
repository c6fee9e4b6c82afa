// Counts and durations of the long benchmarks come from the environment, so a quick run is one
// command line away; a bad value stops the run instead of quietly becoming the default.
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number ≥ 0, got '${raw}'`);
  return n;
}
