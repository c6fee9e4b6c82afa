// The Python process the persistence benchmarks checkpoint: N MiB of random bytes (nothing for a
// checkpoint to compress or share), filled in place so the peak is N, not 2N; writes /tmp/held
// once resident, then sleeps.
export function memoryHolderScript(mib: number): string {
  return [
    'import os, time',
    `b = bytearray(${mib} * 1024 * 1024)`,
    'for i in range(0, len(b), 1 << 20):',
    '    b[i:i + (1 << 20)] = os.urandom(1 << 20)',
    "open('/tmp/held', 'w').write('ok')",
    'while True:',
    '    time.sleep(1)',
  ].join('\n') + '\n';
}
