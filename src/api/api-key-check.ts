// The control plane's API key check (design §7): `X-API-KEY`, as the SDKs send it, or
// `Authorization: Bearer <key>`. Sandbox traffic never reaches it (envd has its own token).
import type { MiddlewareHandler } from 'hono';
import { errors } from '../errors.js';
import type { ApiKeyStore } from '../store/api-key-store.js';

export function apiKeyCheck(keys: ApiKeyStore): MiddlewareHandler {
  return async (c, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const key = c.req.header('x-api-key') || bearer;
    if (!key) throw errors.apiKeyMissing();
    if (!keys.isValid(key)) throw errors.apiKeyInvalid();
    await next();
  };
}
