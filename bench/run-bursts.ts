// Only the burst rows of `npm run bench`, against a server of its own started as bench/run.ts starts one:
// `node --import tsx bench/run-bursts.ts` (counts from the environment, see bench/bursts.ts).
import { loadConfig } from '../src/config.js';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { burstRows } from './bursts.js';
import { writeResults } from './results-file.js';
import { printTable, type Row } from './stats.js';

const server = await startServerProcess({ prepared: true });
useServer(server);
let rows: Row[];
try {
  rows = await burstRows(server.child.pid!, loadConfig({ dataDir: server.dataDir, templatesDir: server.env.SANDCASTLE_TEMPLATES_DIR }));
} finally {
  await disposeServer(server);
}
printTable(rows);
console.log(`\nresults written to ${writeResults('bursts-', { rows })}`);
