// The server's logger (pino). Modules take a `Logger` as a parameter and narrow it with child
// loggers (`log.child({ sandboxId })`), so every line says which sandbox or request it is about.
import pino from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

export type Logger = pino.Logger;

/**
 * JSON lines, appended to `logFile` when set, else written to stdout; a readable one-line-per-entry
 * format instead when stdout is a terminal and no file is set (`sandcastle serve` run by a person).
 * Writes are synchronous: lines stay in order with the process's other output, and a line logged
 * just before a crash or an exit is not lost in a buffer.
 */
export function createLogger(settings: Pick<Config, 'logLevel' | 'logFile'>, terminal = process.stdout.isTTY === true): Logger {
  const options: pino.LoggerOptions = { level: settings.logLevel, timestamp: pino.stdTimeFunctions.isoTime };
  if (settings.logFile) {
    try {
      return pino(options, pino.destination({ dest: settings.logFile, mkdir: true, sync: true }));
    } catch (err) {
      throw new Error(`cannot open the log file ${settings.logFile} (SANDCASTLE_LOG_FILE): ${(err as Error).message}`);
    }
  }
  // In-process rather than a worker-thread transport: no thread to start, and ordered output.
  if (terminal) return pino(options, pretty({ sync: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
