// Every error the server returns, in one coded catalogue, and the one place an error becomes an
// HTTP answer: the body the SDKs expect, `{"code": <status>, "message": "..."}` (protocol §3.1:
// `code` must equal the HTTP status, never an empty body); for sandbox traffic also where it was
// going, or a small HTML page when a browser asked (as the hosted product answers).
import { STATUS_CODES } from 'node:http';


export const errorCatalogue = {
  BAD_REQUEST: 400,
  INVALID_TIMEOUT: 400,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  TEMPLATE_NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  SANDBOX_CONFLICT: 409,
  SANDBOX_NOT_RUNNING: 409,
  CAPACITY_EXHAUSTED: 503,
  OVER_CAPACITY: 429,
  SANDBOX_START_FAILED: 500,
  PAUSE_FAILED: 500,
  RESUME_FAILED: 500,
  CLONE_FAILED: 500,
  SNAPSHOT_FAILED: 500,
  SNAPSHOT_NOT_FOUND: 404,
  INVALID_NETWORK_RULE: 400,
  BAD_SANDBOX_HOST: 400,
  REQUEST_HEAD_TOO_LARGE: 431,
  SANDBOX_PAUSED: 409,
  SANDBOX_PORT_CLOSED: 502,
  SANDBOX_GONE: 502,
  SANDBOX_TRAFFIC_PAUSED: 502,
  SANDBOX_TRAFFIC_NOT_FOUND: 502,
  SIGNATURE_INVALID: 401,
  TEMPLATE_BUILD_NOT_FOUND: 404,
  TEMPLATE_BUILDING: 409,
  TEMPLATE_IN_USE: 409,
  UPLOAD_URL_INVALID: 401,
  UPLOAD_MISSING: 400,
  UPLOAD_LENGTH_REQUIRED: 411,
  INVALID_TEMPLATE: 400,
  VOLUME_NOT_FOUND: 404,
  VOLUME_CONFLICT: 409,
  VOLUME_PATH_NOT_FOUND: 404,
  VOLUME_PATH_INVALID: 400,
  VOLUME_TOKEN_INVALID: 401,
  VOLUME_QUOTA_UNSUPPORTED: 501,
  NOT_OFFERED: 501,
  TRAFFIC_TOKEN_REQUIRED: 403,
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
  apiKeyMissing: () =>
    new SandcastleError('UNAUTHORIZED', 'missing API key: send it in the X-API-KEY header (the SDKs read NOVITA_API_KEY or E2B_API_KEY); `sandcastle keys create` makes one'),
  apiKeyInvalid: () =>
    new SandcastleError('UNAUTHORIZED', 'API key not recognised by this server; `sandcastle keys create` makes one, `sandcastle keys list` shows the ones it has'),
  bodyTooLarge: (limit: number) => new SandcastleError('BODY_TOO_LARGE', `request body exceeds ${limit} bytes`),
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
  overCapacity: (limit: string) => new SandcastleError('OVER_CAPACITY', `no new sandbox now: ${limit}`),
  pausedWithoutMemory: (id: string) =>
    new SandcastleError('SANDBOX_NOT_RUNNING', `sandbox '${id}' was paused without its memory, so there are no processes to copy; resume it (Sandbox.connect) first`),
  noAutoResumeWithoutMemory: (id: string) =>
    new SandcastleError('SANDBOX_PAUSED', `sandbox '${id}' was paused without its memory, so traffic does not resume it; connect to it (Sandbox.connect) to boot it again`),
  sandboxAlreadyPaused: (id: string) => new SandcastleError('SANDBOX_CONFLICT', `sandbox '${id}' is already paused`),
  pauseFailed: (id: string, cause: unknown) =>
    new SandcastleError('PAUSE_FAILED', `pausing sandbox '${id}' failed, it keeps running: ${describe(cause)}`, { cause }),
  resumeFailed: (id: string, cause: unknown) =>
    new SandcastleError('RESUME_FAILED', `resuming sandbox '${id}' failed, it stays paused: ${describe(cause)}`, { cause }),
  rebootFailed: (id: string, cause: unknown) =>
    new SandcastleError('RESUME_FAILED', `booting sandbox '${id}' again after its pause without memory failed, and it was removed: ${describe(cause)}`, { cause }),
  snapshotFailed: (id: string, cause: unknown) =>
    new SandcastleError('SNAPSHOT_FAILED', `saving a snapshot of sandbox '${id}' failed, it is unchanged: ${describe(cause)}`, { cause }),
  cloneFailed: (id: string, made: number, asked: number, cause: unknown) =>
    new SandcastleError('CLONE_FAILED', `cloning sandbox '${id}' made ${made} of ${asked} clones: ${describe(cause)}`, { cause }),
  invalidCloneCount: (got: unknown, max: number) =>
    new SandcastleError('BAD_REQUEST', `count must be a whole number between 1 and ${max}, got ${String(got)}`),
  invalidForkCount: (got: unknown, max: number) =>
    new SandcastleError('BAD_REQUEST', `fork count must be a whole number between 1 and ${max}, got ${String(got)}`),
  templateBuildNotFound: (templateId: string, buildId: string) =>
    new SandcastleError('TEMPLATE_BUILD_NOT_FOUND', `build '${buildId}' of template '${templateId}' not found`),
  templateBuilding: (name: string, buildId: string) =>
    new SandcastleError('TEMPLATE_BUILDING', `template '${name}' is being built (build ${buildId}); wait for that build to finish, then build again`),
  buildAlreadyStarted: (buildId: string, status: string) =>
    new SandcastleError('TEMPLATE_BUILDING', `build '${buildId}' was started already (it is ${status}); request a new build with POST /v3/templates`),
  builtinTemplate: (id: string) =>
    new SandcastleError('TEMPLATE_IN_USE', `template '${id}' is built in and cannot be deleted or changed`),
  invalidTemplate: (why: string) => new SandcastleError('INVALID_TEMPLATE', why),
  uploadUrlInvalid: (why: string) =>
    new SandcastleError('UPLOAD_URL_INVALID', `upload URL refused: ${why}; ask for a new one with GET /templates/{templateID}/files/{hash}`),
  uploadMissing: (hash: string, step: number) =>
    new SandcastleError('UPLOAD_MISSING', `step ${step} (COPY) names files hash ${hash}, which was never uploaded; upload it first (GET /templates/{templateID}/files/{hash} gives the URL)`),
  uploadLengthRequired: () =>
    new SandcastleError('UPLOAD_LENGTH_REQUIRED', 'an upload needs an exact Content-Length header (chunked bodies are refused)'),
  uploadTooLarge: (size: number, limit: number) =>
    new SandcastleError('BODY_TOO_LARGE', `upload of ${size} bytes exceeds the limit of ${limit} bytes (SANDCASTLE_MAX_UPLOAD_MB)`),
  invalidSnapshotName: (name: string) =>
    new SandcastleError('BAD_REQUEST', `snapshot name ${JSON.stringify(name)} is not valid: 1 to 128 letters, digits, '.', '_', '-' or '/', starting with a letter or digit (no ':' tag)`),
  snapshotNameTaken: (name: string) =>
    new SandcastleError('SANDBOX_CONFLICT', `snapshot name '${name}' is a template's name; choose another`),
  snapshotNotFound: (id: string) => new SandcastleError('SNAPSHOT_NOT_FOUND', `snapshot '${id}' not found`),
  invalidNetworkRule: (list: string, entry: unknown, why: string) =>
    new SandcastleError('INVALID_NETWORK_RULE', `network ${list} entry ${JSON.stringify(entry)} ${why}`),
  badSandboxHost: (host: string, domain: string) =>
    new SandcastleError('BAD_SANDBOX_HOST', `host '${host}' is not of the form <port>-<sandboxId>.${domain}`),
  badSandboxPort: (port: string) =>
    new SandcastleError('BAD_SANDBOX_HOST', `port ${port} is not a port number between 1 and 65535`),
  requestHeadTooLarge: (limit: number) =>
    new SandcastleError('REQUEST_HEAD_TOO_LARGE', `request line and headers exceed ${limit} bytes`),
  sandboxPaused: (id: string) =>
    new SandcastleError('SANDBOX_PAUSED', `sandbox '${id}' is paused; connect to it (Sandbox.connect) to resume it`),
  sandboxPortClosed: (id: string, port: number, detail: string) =>
    new SandcastleError('SANDBOX_PORT_CLOSED', `sandbox '${id}' is running but nothing answers on port ${port} (${detail})`),
  sandboxGone: (id: string, state: string) =>
    new SandcastleError('SANDBOX_GONE', `sandbox '${id}' is ${state}`),
  // Traffic to a sandbox that takes none answers 502, which the SDKs read as "not running"
  // (isRunning() → false); the hosted product words "not found" this way.
  /** `why`: the lifecycle's SANDBOX_PAUSED message (paused; paused without memory...). */
  sandboxTrafficPaused: (why: string) => new SandcastleError('SANDBOX_TRAFFIC_PAUSED', why),
  sandboxTrafficNotFound: () => new SandcastleError('SANDBOX_TRAFFIC_NOT_FOUND', 'The sandbox was not found'),
  /** As envd words it, so the SDKs' callers see one answer wherever the check failed. */
  signatureInvalid: () => new SandcastleError('SIGNATURE_INVALID', 'invalid signature'),
  volumeNotFound: (ref: string) => new SandcastleError('VOLUME_NOT_FOUND', `volume '${ref}' not found; \`Volume.list()\` shows the volumes there are`),
  volumeNameTaken: (name: string) => new SandcastleError('VOLUME_CONFLICT', `volume name '${name}' is taken; choose another or use that volume`),
  invalidVolumeName: (name: string) =>
    new SandcastleError('BAD_REQUEST', `volume name ${JSON.stringify(name)} is not valid: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`),
  volumeInUse: (id: string, users: { sandboxes: string[]; snapshots: string[] }) =>
    new SandcastleError('VOLUME_CONFLICT', `volume '${id}' is ${[
      ...(users.sandboxes.length ? [`mounted by sandbox(es) ${users.sandboxes.join(', ')}`] : []),
      ...(users.snapshots.length ? [`mounted by the sandboxes of snapshot(s) ${users.snapshots.join(', ')}`] : []),
    ].join(' and ')}; kill the sandboxes and delete the snapshots first`),
  invalidVolumeMount: (path: string, why: string) => new SandcastleError('BAD_REQUEST', `volume mount path ${JSON.stringify(path)} ${why}`),
  snapshotVolumesFixed: (snapshot: string, mounts: string) =>
    new SandcastleError('BAD_REQUEST', `a sandbox from snapshot '${snapshot}' mounts the volumes its source did (${mounts}), no others: drop volumeMounts or name exactly those`),
  volumePathNotFound: (path: string) => new SandcastleError('VOLUME_PATH_NOT_FOUND', `path '${path}' not found in the volume`),
  volumePathInvalid: (path: string, why: string) => new SandcastleError('VOLUME_PATH_INVALID', `path ${JSON.stringify(path)} ${why}`),
  volumeConflict: (path: string, why: string) => new SandcastleError('VOLUME_CONFLICT', `path '${path}' ${why}`),
  volumeQuotaUnsupported: () =>
    new SandcastleError('VOLUME_QUOTA_UNSUPPORTED', 'volume quotas are not supported: a volume grows within the free space of the data directory'),
  volumeTokenInvalid: () =>
    new SandcastleError('VOLUME_TOKEN_INVALID', "missing or wrong volume token: send the volume's token (Volume.getInfo) as 'Authorization: Bearer <token>'"),
  notOffered: (what: string) =>
    new SandcastleError('NOT_OFFERED', `${what} are not offered by Sandcastle yet`),
  trafficTokenMissing: () =>
    new SandcastleError('TRAFFIC_TOKEN_REQUIRED', "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is missing"),
  trafficTokenInvalid: () =>
    new SandcastleError('TRAFFIC_TOKEN_REQUIRED', "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is invalid: send the sandbox's trafficAccessToken"),
  startFailed: (id: string, cause: unknown) =>
    new SandcastleError('SANDBOX_START_FAILED', `sandbox '${id}' failed to start: ${describe(cause)}`, { cause }),
};

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Where refused sandbox traffic was going; the proxies add it to the JSON body. */
export interface ErrorPlace {
  sandboxId?: string;
  port?: number;
}

export type ErrorBody = { code: number; message: string } & ErrorPlace;

/** The JSON body of an error answer. An error outside the catalogue is a bug: a 500 that says
 *  what went wrong. */
export function errorBody(err: unknown, where: ErrorPlace = {}): ErrorBody {
  if (err instanceof SandcastleError) return { code: err.status, message: err.message, ...where };
  return { code: 500, message: `internal error: ${describe(err)}`, ...where };
}

export interface RenderedError {
  status: number;
  /** The content-type header. */
  type: string;
  body: string;
}

const browser = /mozilla|chrome|safari|firefox|edge|opera|msie/i;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The error answer for a client that sent `userAgent`: an HTML page for a browser (someone opened
 *  the sandbox's URL), the JSON body for a program. */
export function renderError(err: unknown, userAgent: string | undefined, where: ErrorPlace = {}): RenderedError {
  const json = errorBody(err, where);
  if (userAgent && browser.test(userAgent)) {
    const body = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${json.code} — Sandcastle</title></head>\n<body><h1>${json.code}</h1><p>${escapeHtml(json.message)}</p></body></html>\n`;
    return { status: json.code, type: 'text/html; charset=utf-8', body };
  }
  return { status: json.code, type: 'application/json', body: JSON.stringify(json) };
}

/** The error answer as a whole HTTP/1.1 message that closes the connection, for a client socket
 *  answered directly (a proxy refusing before a relay or an upgrade). */
export function rawHttpError(err: unknown, userAgent: string | undefined, where: ErrorPlace = {}): string {
  const r = renderError(err, userAgent, where);
  return `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}\r\ncontent-type: ${r.type}\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`;
}
