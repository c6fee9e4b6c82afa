// Only the image pull rows of `npm run bench` (no server needed):
// `node --import tsx bench/image-pull.ts`.
import { imagePullRows } from './image-pull-rows.js';
import { writeResults } from './results-file.js';
import { printTable } from './stats.js';

const rows = await imagePullRows();
printTable(rows);
console.log(`\nresults written to ${writeResults('image-pull-', { rows })}`);
