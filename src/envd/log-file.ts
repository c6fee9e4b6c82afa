// envd's own log, shared by envd (which writes it inside the sandbox) and the server (which reads
// it from the sandbox's writable layer): JSON lines in a file at the root of the sandbox's
// filesystem. Being in the writable layer, it is kept by pause/resume, clones and snapshots, and
// the server reads it without a round trip into the sandbox, paused or running.

/** The file's name at the root of the sandbox's filesystem; the previous file is `….1`. */
export const envdLogName = '.sandcastle-envd.log';
/** envd starts a new file past this size, keeping one previous file. */
export const envdLogMaxBytes = 512 * 1024;

export const envdLogLevels = ['debug', 'info', 'warn', 'error'] as const;
export type EnvdLogLevel = (typeof envdLogLevels)[number];

export interface EnvdLogLine {
  /** Unix ms. */
  timestamp: number;
  level: EnvdLogLevel;
  message: string;
  fields: Record<string, string>;
}

export function formatEnvdLogLine(line: EnvdLogLine): string {
  return `${JSON.stringify({ t: line.timestamp, level: line.level, msg: line.message, ...line.fields })}\n`;
}

/** The lines of a file's text, oldest first. The sandbox's own processes can write the file, so
 *  anything that is not a well-formed line is skipped, and field values are kept as strings. */
export function parseEnvdLog(text: string): EnvdLogLine[] {
  const out: EnvdLogLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) continue;
    const { t, level, msg, ...rest } = obj as Record<string, unknown>;
    if (typeof t !== 'number' || !Number.isFinite(t) || typeof msg !== 'string' || !envdLogLevels.includes(level as EnvdLogLevel)) continue;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(rest)) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    out.push({ timestamp: t, level: level as EnvdLogLevel, message: msg, fields });
  }
  return out;
}
