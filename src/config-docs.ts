// The README's settings tables, generated from the catalogue in config.ts so they cannot drift:
// `npm run docs:settings` rewrites them, config-docs.test.ts fails when they differ.
import { type Setting, sandboxSettings, settings } from './config.js';

export const settingsBegin = '<!-- settings:begin (generated from src/config.ts by `npm run docs:settings`; do not edit) -->';
export const settingsEnd = '<!-- settings:end -->';

function table(rows: readonly Setting[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return ['| variable | default | meaning |', '|---|---|---|', ...rows.map((r) => `| \`${r.variable}\` | ${cell(r.default)} | ${cell(r.meaning)} |`)].join('\n');
}

/** The Markdown between the two markers. */
export function settingsMarkdown(): string {
  return [
    table(settings),
    '',
    "Read inside a sandbox by its code interpreter (set them in a template's environment, not the server's):",
    '',
    table(sandboxSettings),
  ].join('\n');
}

/** `readme` with the text between the markers replaced by the generated tables. */
export function withSettingsTable(readme: string): string {
  const begin = readme.indexOf(settingsBegin);
  const end = readme.indexOf(settingsEnd);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the settings markers: put "${settingsBegin}" and "${settingsEnd}" where the table goes`);
  return `${readme.slice(0, begin + settingsBegin.length)}\n${settingsMarkdown()}\n${readme.slice(end)}`;
}
