import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { installDir, sandboxSettings, settings } from './config.js';
import { withSettingsTable } from './config-docs.js';

const documented = [...settings, ...sandboxSettings].map((s) => s.variable);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test("the README's settings table is the one generated from config.ts", () => {
  const readme = readFileSync(path.join(installDir, 'README.md'), 'utf8');
  assert.equal(readme, withSettingsTable(readme), 'README.md settings table is out of date: run `npm run docs:settings`');
});

test('every SANDCASTLE_ variable read in src/ is in the catalogue, once', () => {
  assert.equal(new Set(documented).size, documented.length, 'a variable is listed twice');
  const read = new Set(sourceFiles(path.join(installDir, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(/SANDCASTLE_[A-Z0-9_]*[A-Z0-9]/g) ?? []));
  const missing = [...read].filter((v) => !documented.includes(v));
  assert.deepEqual(missing, [], 'add these to the settings catalogue in src/config.ts');
});

test('every variable in the catalogue is read somewhere in src/', () => {
  // config.ts less the catalogue itself, plus every other source file.
  const config = readFileSync(path.join(installDir, 'src', 'config.ts'), 'utf8');
  const catalogue = config.slice(config.indexOf('export const settings'), config.indexOf('type SettingName'));
  const text = sourceFiles(path.join(installDir, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n').replace(catalogue, '');
  const unread = documented.filter((v) => !new RegExp(`\\b${v}\\b`).test(text));
  assert.deepEqual(unread, [], 'these are listed in the catalogue but never read: remove them');
});
