import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { CellSyntaxError, importHelper, prepareJsCell } from './js-cell.js';

// Cells run in a fresh context of their own, as the kernel runs them in its global scope.
const context = vm.createContext({ [importHelper]: (s: string) => import(s), setTimeout });
async function run(code: string): Promise<{ value: unknown; hasValue: boolean }> {
  const cell = prepareJsCell(code);
  return { value: await (vm.runInContext(cell.script, context) as Promise<unknown>), hasValue: cell.hasValue };
}

test('declarations outlive their cell and may be declared again', async () => {
  await run('const a = 1, { b, c: [d] } = { b: 2, c: [3] };\nlet e;\nclass K { v() { return 4 } }\nfunction f(x) { return x * 10 }');
  assert.deepEqual(await run('a + b + d + new K().v() + f(1)'), { value: 20, hasValue: true });
  assert.deepEqual(await run('const a = 5; let e = 6; a + e'), { value: 11, hasValue: true });
});

test('function declarations are hoisted within their cell', async () => {
  assert.equal((await run('hoisted();\nfunction hoisted() { return "up" }')).hasValue, false);
  assert.equal((await run('hoisted()')).value, 'up');
});

test('top-level await, imports and a parenthesised last expression', async () => {
  assert.equal((await run('const w = await Promise.resolve(7); w * 6')).value, 42);
  assert.equal((await run("import path, { join as j } from 'node:path';\nimport * as os from 'node:os';\nj('a', 'b') + typeof os.cpus")).value, 'a/bfunction');
  assert.equal(JSON.stringify((await run('({ k: 1 })')).value), '{"k":1}');
});

test('a cell whose last statement is not an expression has no value', async () => {
  assert.equal((await run('for (let i = 0; i < 2; i++) {}')).hasValue, false);
  assert.equal((await run('if (true) { 5 }')).hasValue, false);
});

test('line numbers in errors are the cell\'s own', async () => {
  await assert.rejects(run('const ok = 1;\n\nnull.boom'), (err: Error) => /evalmachine\.<anonymous>:3:/.test(err.stack ?? ''));
});

test('a syntax error names its line and column', () => {
  assert.throws(() => prepareJsCell('let fine = 1;\nlet x = ;'), (err: unknown) => err instanceof CellSyntaxError && err.line === 2 && err.column === 8);
});
