// A Hono app answering as the control plane does: every error rendered once by the catalogue
// (src/errors.ts) as its JSON body, unknown routes a JSON 404, every request logged when it ends
// (the log line carries the error, stack included).
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorBody, errors } from '../errors.js';
import type { Logger } from '../log.js';
import { requestLog } from './request-log.js';

export function jsonApiApp(log: Logger): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    const body = errorBody(err);
    return c.json(body, body.code as ContentfulStatusCode);
  });
  app.notFound((c) => c.json(errorBody(errors.routeNotFound(c.req.method, c.req.path)), 404));
  app.use('*', requestLog(log));
  return app;
}
