// envd's one release of the memory its transfers leave behind (memory-trim.ts): command output
// (process/processes.ts) and file uploads and downloads (http/files-http.ts).
import { envdLog } from './envd-log.js';
import { FreedMemory } from './memory-trim.js';

export const freedMemory = new FreedMemory((message) => envdLog('warn', message));
