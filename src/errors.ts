// Every error the control plane returns, in one coded catalogue. The HTTP layer turns a
// SandcastleError into the body the SDKs expect: `{"code": <status>, "message": "..."}`
// (protocol §3.1: `code` must equal the HTTP status, never an empty body).

export const errorCatalogue = {
  BAD_REQUEST: 400,
  INVALID_TIMEOUT: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  TEMPLATE_NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  SANDBOX_CONFLICT: 409,
  SANDBOX_NOT_RUNNING: 409,
  CAPACITY_EXHAUSTED: 503,
  SANDBOX_START_FAILED: 500,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class SandcastleError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SandcastleError';
    this.status = errorCatalogue[code];
  }
}

export const errors = {
  badRequest: (message: string) => new SandcastleError('BAD_REQUEST', message),
  invalidJson: (detail: string) => new SandcastleError('INVALID_JSON', `request body is not valid JSON: ${detail}`),
  invalidTimeout: (got: unknown, max: number) =>
    new SandcastleError('INVALID_TIMEOUT', `timeout must be between 1 and ${max} seconds, got ${String(got)}`),
  templateNotFound: (id: string) => new SandcastleError('TEMPLATE_NOT_FOUND', `template '${id}' not found`),
  sandboxNotFound: (id: string) => new SandcastleError('SANDBOX_NOT_FOUND', `sandbox '${id}' not found`),
  routeNotFound: (method: string, path: string) =>
    new SandcastleError('ROUTE_NOT_FOUND', `no route for ${method} ${path}`),
  sandboxNotRunning: (id: string, state: string) =>
    new SandcastleError('SANDBOX_NOT_RUNNING', `sandbox '${id}' is ${state}, not running`),
  capacityExhausted: (what: string) => new SandcastleError('CAPACITY_EXHAUSTED', `no capacity left: ${what}`),
  startFailed: (id: string, cause: unknown) =>
    new SandcastleError('SANDBOX_START_FAILED', `sandbox '${id}' failed to start: ${describe(cause)}`, { cause }),
};

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
