// Where the console lives in the server's URL space, and the type its route modules register on.
import { Hono } from 'hono';
import type { BlankSchema } from 'hono/types';

export const consolePrefix = '/dashboard';

/** The console's routes: each request carries its session's API key (none without key checks). */
export type ConsoleRoutes = Hono<{ Variables: { apiKey: string | undefined } }, BlankSchema, typeof consolePrefix>;

/** The console's (empty) routes, under its prefix. */
export function newConsoleRoutes(): ConsoleRoutes {
  return new Hono<{ Variables: { apiKey: string | undefined } }>().basePath(consolePrefix);
}

/** Whether a request path is the console's. */
export function isConsolePath(url: string | undefined): boolean {
  return url !== undefined && (url === consolePrefix || url.startsWith(`${consolePrefix}/`) || url.startsWith(`${consolePrefix}?`));
}
