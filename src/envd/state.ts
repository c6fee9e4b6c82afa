// What the server tells envd through `POST /init`: the access token, the sandbox-wide environment
// variables and the default user/workdir. Everything else in envd reads it from here.

export interface InitBody {
  accessToken?: unknown;
  envVars?: unknown;
  defaultUser?: unknown;
  defaultWorkdir?: unknown;
}

export const state = {
  /** Undefined until the first /init: then every request must carry it. */
  accessToken: undefined as string | undefined,
  envVars: {} as Record<string, string>,
  defaultUser: 'user',
  defaultWorkdir: undefined as string | undefined,
};

/** Applies an /init body; returns an error message for a malformed one. */
export function applyInit(body: InitBody): string | undefined {
  if (body.envVars !== undefined && (typeof body.envVars !== 'object' || body.envVars === null)) {
    return 'envVars must be an object';
  }
  const envVars: Record<string, string> = {};
  for (const [key, value] of Object.entries((body.envVars ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') return `envVars.${key} must be a string`;
    envVars[key] = value;
  }
  if (typeof body.accessToken === 'string') state.accessToken = body.accessToken || undefined;
  if (body.envVars !== undefined) state.envVars = envVars;
  if (typeof body.defaultUser === 'string' && body.defaultUser !== '') state.defaultUser = body.defaultUser;
  if (typeof body.defaultWorkdir === 'string') state.defaultWorkdir = body.defaultWorkdir || undefined;
  return undefined;
}
