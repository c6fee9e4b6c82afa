import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CellSyntaxError } from './js-cell.js';
import { stripTypes } from './typescript.js';

// Under tsx the esbuild module is loaded already (tsx's own), so the cells here go through the
// esbuild of node_modules, of the same version; in the sandbox's bundle, through this binary.
const esbuild = fileURLToPath(new URL('../../dist/sandbox/interpreter/esbuild', import.meta.url));

/** Pids of the esbuild processes this process's main thread started: the service stripTypes
 *  runs (tsx's own runs from a worker thread). */
function servicePids(): number[] {
  const children = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'esbuild';
    } catch {
      return false;
    }
  });
}

it('cells are stripped of their types by one esbuild process, imports kept', async () => {
  assert.equal(await stripTypes(esbuild, 'interface P { n: number }\nconst p: P = { n: 2 };'), 'const p = { n: 2 };\n');
  const [pid] = servicePids();
  assert.ok(pid, 'an esbuild service runs');
  assert.match(await stripTypes(esbuild, "import { a } from './a';"), /import \{ a \} from "\.\/a";/);
  assert.deepEqual(servicePids(), [pid]);
});

it('a cell esbuild cannot read is a syntax error at its line and column', async () => {
  await assert.rejects(stripTypes(esbuild, 'const ok = 1;\nconst x: = 1'), (err: unknown) => err instanceof CellSyntaxError && err.line === 2 && err.column === 9 && /Unexpected "="/.test(err.message));
});

it('a killed esbuild is started again for the next cell', async () => {
  await stripTypes(esbuild, 'let a: number = 1');
  const [pid] = servicePids();
  execFileSync('kill', ['-9', String(pid)]);
  for (let i = 0; i < 100 && servicePids().includes(pid!); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await stripTypes(esbuild, 'let b: string = "b"'), 'let b = "b";\n');
  const [next] = servicePids();
  assert.ok(next !== undefined && next !== pid, 'another esbuild answered');
});

it('an idle esbuild does not keep its process running', () => {
  const script = `import { stripTypes } from ${JSON.stringify(path.resolve('src/interpreter/typescript.ts'))};\nconsole.log(await stripTypes(${JSON.stringify(esbuild)}, 'let a: number = 1'));`;
  // Kept alive, the process would wait for the idle stop (30 s) and be killed here.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.trim(), 'let a = 1;');
});
