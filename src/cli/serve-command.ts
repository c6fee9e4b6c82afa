// `sandcastle serve`: the control plane, the proxy and the lifecycle timers in one process.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { describe } from '../errors.js';
import { createLogger } from '../log.js';
import { startServer } from '../server.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (API and sandbox traffic on one port)')
    .option('--host <address>', 'address to listen on (SANDCASTLE_HOST)')
    .option('--port <number>', 'port to listen on (SANDCASTLE_PORT)', (v) => Number(v))
    .option('--data-dir <path>', 'database, templates and sandbox layers (SANDCASTLE_DATA_DIR)')
    .action(async (opts: { host?: string; port?: number; dataDir?: string }) => {
      const config = loadConfig({
        ...(opts.host ? { host: opts.host } : {}),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      });
      const log = createLogger(config);
      // Through the logger, so a log file also says why the server did not start.
      const server = await startServer(config, log).catch((err: unknown) => {
        log.fatal({ err }, `sandcastle cannot start: ${describe(err)}`);
        process.exit(1);
      });
      log.info({ dataDir: config.dataDir }, `sandcastle listening on ${server.url} (data in ${config.dataDir})`);
      // Sandboxes outlive the server on purpose: the next start re-adopts them.
      const stop = (signal: string) => {
        log.info({ signal }, `${signal}: stopping; running sandboxes stay up and are re-adopted on the next start`);
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'stopping the server failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
