// `-o, --output pretty|json|yaml`, as the novita CLI gives every listing: a table (or key/value
// lines) for people, JSON or YAML of the same records for programs.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';

export const formats = ['pretty', 'json', 'yaml'] as const;
export type Format = (typeof formats)[number];

export interface OutputOption {
  output: Format;
}

export function addOutputOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-o, --output <format>', `output format: ${formats.join(', ')}`)
      .default('pretty')
      .argParser((v: string): Format => {
        const f = v.toLowerCase();
        if (!(formats as readonly string[]).includes(f)) throw new InvalidArgumentError(`must be one of ${formats.join(', ')}, got "${v}"`);
        return f as Format;
      }),
  );
}

/** Dates as ISO strings, undefined fields dropped: the same text in JSON and YAML. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null)) as unknown;
}

/** `data` as JSON or YAML; false when the format is `pretty` (the caller prints it its way). */
export function printStructured(format: Format, data: unknown): boolean {
  if (format === 'json') console.log(JSON.stringify(plain(data), null, 2));
  else if (format === 'yaml') process.stdout.write(stringify(plain(data)));
  else return false;
  return true;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/** Columns padded to their widest cell, headers in capitals, as the e2b CLI prints them. */
export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => c.value(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

/** A listing: the table, `empty` when there is nothing, or the records as JSON/YAML. */
export function printList<T>(format: Format, rows: T[], columns: Column<T>[], empty: string): void {
  if (printStructured(format, rows)) return;
  console.log(rows.length ? renderTable(rows, columns) : empty);
}

/** One record: `Label: value` lines (objects as JSON) in the order of `labels`, then the other
 *  fields; or the record as JSON/YAML. */
export function printRecord(format: Format, record: object, labels: Record<string, string> = {}): void {
  if (printStructured(format, record)) return;
  const fields = record as Record<string, unknown>;
  const keys = [...Object.keys(labels).filter((k) => k in fields), ...Object.keys(fields).filter((k) => !(k in labels))];
  for (const key of keys) {
    const value = fields[key];
    if (value === undefined) continue;
    const text = value instanceof Date ? value.toISOString() : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    console.log(`${labels[key] ?? key}: ${text}`);
  }
}

/** An ISO time without milliseconds, as a table cell. */
export const shortTime = (t: Date | string | null | undefined) =>
  t ? (t instanceof Date ? t : new Date(t)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
