// The NDJSON events of `POST /execute` (protocol §5) and the mapping from a Jupyter MIME bundle to
// a `result` event, shared by every kind of kernel.

export type OutputEvent =
  | { type: 'stdout' | 'stderr'; text: string; timestamp: string }
  | ResultEvent
  | ErrorEvent
  | { type: 'number_of_executions'; execution_count: number }
  | { type: 'end_of_execution' }
  | { type: 'unexpected_end_of_execution' };

export interface ResultEvent {
  type: 'result';
  is_main_result: boolean;
  [field: string]: unknown;
}

export interface ErrorEvent {
  type: 'error';
  name: string;
  value: string;
  traceback: string;
}

/** MIME type → field of the result event, the names the SDK's `Result` reads. */
const fieldOfMime: Readonly<Record<string, string>> = {
  'text/plain': 'text',
  'text/html': 'html',
  'text/markdown': 'markdown',
  'image/svg+xml': 'svg',
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'application/pdf': 'pdf',
  'text/latex': 'latex',
  'application/json': 'json',
  'application/javascript': 'javascript',
  'e2b/data': 'data',
  'e2b/chart': 'chart',
};

/** A result event from a display bundle. Formats the bundle lacks are left out (the SDK then reads
 *  them as undefined); MIME types outside the known set go, as upstream does, into `extra`. */
export function resultEvent(bundle: Record<string, unknown>, isMainResult: boolean): ResultEvent {
  const event: ResultEvent = { type: 'result', is_main_result: isMainResult };
  const extra: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    if (value === null || value === undefined) continue;
    const field = fieldOfMime[mime];
    if (field === 'text' && typeof value === 'string') event.text = unquote(value);
    else if (field) event[field] = value;
    else extra[mime] = value;
  }
  if (Object.keys(extra).length > 0) event.extra = extra;
  return event;
}

/** A string value's repr is `'hello'`; the SDK user wants `hello` (upstream strips the quotes too). */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text;
}

export function logEvent(stream: 'stdout' | 'stderr', text: string): OutputEvent {
  return { type: stream, text, timestamp: new Date().toISOString() };
}

/**
 * The most characters one stdout or stderr event carries on the wire. The SDKs read the NDJSON
 * stream by appending each network chunk to a string and searching it from its start for a
 * newline, which costs them time quadratic in an event's length: a Python cell's 8 MiB of output,
 * gathered by the kernel into one event, took 0.6 s to arrive and 3.8 s more in the SDK.
 */
const maxLogEventChars = 64 * 1024;

/** The event as sent: longer output is cut into several events, after a newline where the
 *  window has one, and never inside a UTF-16 surrogate pair. */
export function wireEvents(event: OutputEvent, max = maxLogEventChars): OutputEvent[] {
  if ((event.type !== 'stdout' && event.type !== 'stderr') || event.text.length <= max) return [event];
  const { text } = event;
  const parts: OutputEvent[] = [];
  let start = 0;
  while (text.length - start > max) {
    // Searched in the window only: from its end, lastIndexOf would run back to the text's start.
    const newline = text.slice(start, start + max).lastIndexOf('\n');
    let end = start + newline + 1;
    if (newline < 0) {
      end = start + max;
      if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    }
    parts.push({ ...event, text: text.slice(start, end) });
    start = end;
  }
  parts.push({ ...event, text: text.slice(start) });
  return parts;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function errorEvent(name: string, value: string, traceback = ''): ErrorEvent {
  return { type: 'error', name, value, traceback };
}

/**
 * One line of the NDJSON stream, in ASCII: characters beyond it are written as JSON escapes, as
 * the hosted interpreter does. The SDKs decode each network chunk on its own, so a character whose
 * bytes two chunks split came out as two replacement characters.
 */
export function eventLine(event: OutputEvent): string {
  return `${JSON.stringify(event).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}
