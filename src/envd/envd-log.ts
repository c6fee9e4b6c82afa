// envd's writer of its own log (src/envd/log-file.ts says where and how the server reads it).
// Lines are queued and appended in batches by the thread pool, so logging never waits on the disk;
// no file stays open between batches, so a checkpoint never holds one.
import { appendFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { envdLogMaxBytes, envdLogName, formatEnvdLogLine, type EnvdLogLevel } from './log-file.js';

const file = process.env.ENVD_LOG_FILE ?? path.join('/', envdLogName);

let queued: string[] = [];
let flushing = false;
/** Bytes in the current file; undefined until it is first looked at. */
let size: number | undefined;

async function flush(): Promise<void> {
  flushing = true;
  try {
    while (queued.length > 0) {
      const text = queued.join('');
      queued = [];
      size ??= await stat(file).then((s) => s.size, () => 0);
      if (size > 0 && size + Buffer.byteLength(text) > envdLogMaxBytes) {
        await rename(file, `${file}.1`).catch(() => undefined);
        size = 0;
      }
      // A read-only or full filesystem loses the lines, never envd.
      await appendFile(file, text, { mode: 0o600 }).then(
        () => (size! += Buffer.byteLength(text)),
        () => undefined,
      );
    }
  } finally {
    flushing = false;
  }
}

export function envdLog(level: EnvdLogLevel, message: string, fields: Record<string, string | number | undefined> = {}): void {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) strings[k] = String(v);
  queued.push(formatEnvdLogLine({ timestamp: Date.now(), level, message, fields: strings }));
  if (!flushing) void flush();
}
