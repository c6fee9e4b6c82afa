// envd entry point: started inside the sandbox (PID 2 under the mounted tini) as
// `/opt/sandcastle/node <flags> /opt/sandcastle/lib/envd.mjs` (oci-spec.ts; the flags are for
// memory-trim.ts). It only starts listening; the server's `POST /init` brings the token and
// environment.
import './light-headers.js';
import './base64.js';
import { envdLog } from './envd-log.js';
import { createEnvdServer, loadServices } from './server.js';
import { startProcessHelper } from './process/spawner.js';
import { envdPort } from '../protocol.js';

// envd's own stdio may be a pipe whose reader is gone (e.g. after a restore); a failed log
// write must not take the daemon down, nor must one failed request.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
process.on('uncaughtException', (err) => {
  console.error('envd: uncaught exception:', err);
  envdLog('error', `uncaught exception: ${err.stack ?? err.message}`);
});
process.on('unhandledRejection', (err) => {
  console.error('envd: unhandled rejection:', err);
  envdLog('error', `unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
});

const host = process.env.ENVD_HOST || '0.0.0.0';
const port = Number(process.env.ENVD_PORT || envdPort);

const server = createEnvdServer();
server.once('error', (err) => {
  console.error(`envd: cannot listen on ${host}:${port}:`, err.message);
  process.exit(1);
});
server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  console.log(`envd listening on ${host}:${bound}`);
  envdLog('info', `envd started, listening on port ${bound}`, { pid: process.pid });
  // Warm up the RPC and file services soon even if no request comes (e.g. before a checkpoint).
  setTimeout(() => void loadServices(), 20);
  startProcessHelper();
});
