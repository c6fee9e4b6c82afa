// Soak part (b): many sandboxes each run a command printing a numbered line every 100 ms, read
// through the SDK's onStdout for a long while. A number out of sequence (lost, repeated or
// reordered) or a stream silent for longer than stallMs is a difference; a command that ends
// before it is stopped is an error.
import { Sandbox, type CommandHandle } from 'novita-sandbox';
import { createMany } from './fleet.js';
import { Tally } from './soak-tally.js';

const stallMs = 5000;
const tickerScript = String.raw`
import sys, time
i = 0
while True:
    sys.stdout.write('%d\n' % i)
    sys.stdout.flush()
    i += 1
    time.sleep(0.1)
`;

class StreamCheck {
  next = 0;
  lastAt = performance.now();
  stalled = false;
  private partial = '';

  constructor(
    private readonly id: string,
    private readonly tally: Tally,
  ) {}

  /** Chunks may end mid-line or hold several lines. */
  onStdout(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      const n = Number(line);
      if (n !== this.next) this.tally.difference(`${this.id}: line '${line}' where ${this.next} was due`);
      this.next = Number.isInteger(n) ? n + 1 : this.next + 1;
      this.tally.success();
    }
    this.lastAt = performance.now();
    this.stalled = false;
  }

  watch(now: number): void {
    if (!this.stalled && now - this.lastAt > stallMs) {
      this.stalled = true;
      this.tally.difference(`${this.id}: no output for ${stallMs / 1000} s after line ${this.next - 1}`);
    }
  }
}

export async function streamSoak(streams: number, minutes: number): Promise<Tally> {
  const tally = new Tally('streamed lines');
  const durationMs = minutes * 60_000;
  const sandboxes = await createMany(streams, durationMs + 600_000);
  const handles: CommandHandle[] = [];
  let stopping = false;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    await Promise.all(sandboxes.map((s) => s.files.write('/tmp/soak-ticker.py', tickerScript)));
    const checks = await Promise.all(
      sandboxes.map(async (sbx: Sandbox) => {
        const check = new StreamCheck(sbx.sandboxId, tally);
        const handle = await sbx.commands.run('python3 /tmp/soak-ticker.py', { background: true, timeoutMs: 0, onStdout: (d) => check.onStdout(d) });
        handles.push(handle);
        check.lastAt = performance.now();
        handle.wait().then(
          () => !stopping && tally.error(sbx.sandboxId, new Error(`the streaming command ended after line ${check.next - 1}`)),
          (err: unknown) => !stopping && tally.error(sbx.sandboxId, err),
        );
        return check;
      }),
    );
    watchdog = setInterval(() => {
      const now = performance.now();
      for (const c of checks) c.watch(now);
    }, 1000);
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(60_000, end - Date.now())));
      console.log(`  streams: ${tally.done} lines from ${streams} sandboxes, ${tally.differences} differences, ${tally.errors} errors`);
    }
  } finally {
    clearInterval(watchdog);
    stopping = true;
    await Promise.allSettled(handles.map((h) => h.kill()));
    await Promise.allSettled(sandboxes.map((s) => s.kill()));
  }
  return tally;
}
