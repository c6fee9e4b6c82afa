// A process in a sandbox that holds random bytes only in its memory and hashes them on demand:
// the check that a pause and resume (cold, warm or lazy) kept every byte.
import type { Sandbox } from 'novita-sandbox';

async function untilExists(sbx: Sandbox, file: string, tries: number): Promise<void> {
  for (let i = 0; i < tries && !(await sbx.files.exists(file)); i++) await new Promise((r) => setTimeout(r, 100));
}

export interface MemoryHash {
  /** The bytes' sha256 when they were made. */
  before: string;
  /** Their sha256 now, as the process computes it; asked through `via` when given (the same
   *  sandbox connected again, e.g. to a restarted server). */
  now(via?: Sandbox): Promise<string>;
}

/** Starts a Python process holding `mib` MiB of random bytes; on SIGUSR1 it hashes them again. */
export async function startMemoryHash(sbx: Sandbox, mib: number): Promise<MemoryHash> {
  const program = [
    'import hashlib, os, signal, time',
    `b = bytearray(${mib} * 1024 * 1024)`,
    'for i in range(0, len(b), 1 << 20):',
    '    b[i:i + (1 << 20)] = os.urandom(1 << 20)',
    'def report(*_):',
    "    open('/tmp/after.tmp', 'w').write(hashlib.sha256(b).hexdigest())",
    "    os.replace('/tmp/after.tmp', '/tmp/after')",
    'signal.signal(signal.SIGUSR1, report)',
    "open('/tmp/before', 'w').write(hashlib.sha256(b).hexdigest())",
    "open('/tmp/big.pid', 'w').write(str(os.getpid()))",
    'while True:',
    '    time.sleep(1)',
  ];
  await sbx.files.write('/tmp/big.py', program.join('\n'));
  await sbx.commands.run('python3 /tmp/big.py', { background: true });
  await untilExists(sbx, '/tmp/big.pid', 300);
  const before = await sbx.files.read('/tmp/before');
  return {
    before,
    async now(via = sbx) {
      await via.commands.run('rm -f /tmp/after; kill -USR1 $(cat /tmp/big.pid)');
      await untilExists(via, '/tmp/after', 100);
      return via.files.read('/tmp/after');
    },
  };
}
