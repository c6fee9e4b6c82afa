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

export function errorEvent(name: string, value: string, traceback = ''): ErrorEvent {
  return { type: 'error', name, value, traceback };
}
