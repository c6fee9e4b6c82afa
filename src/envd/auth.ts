// Access checks (protocol §4.1, §4.3): the `X-Access-Token` header, the signed `/files` URLs, and
// the user named by Basic auth.
import { createHash, timingSafeEqual } from 'node:crypto';
import { state } from './state.js';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when no token is set yet, or the header carries it. */
export function tokenAccepted(header: string | null | undefined): boolean {
  return state.accessToken === undefined || (typeof header === 'string' && sameSecret(header, state.accessToken));
}

export const unauthorizedMessage = 'unauthorized access, please provide a valid access token';

export interface SignedQuery {
  path: string;
  username: string | undefined;
  signature: string | undefined;
  expiration: string | undefined;
}

/**
 * `/files` access: the token header, or else a `signature` over
 * `<path>:<operation>:<user or empty>:<token>[:<expiry>]`. Returns an error message or undefined.
 */
export function checkFilesAccess(
  header: string | undefined,
  operation: 'read' | 'write',
  query: SignedQuery,
): string | undefined {
  const token = state.accessToken;
  if (token === undefined) return undefined;
  if (header !== undefined) return sameSecret(header, token) ? undefined : 'access token present in header but does not match';
  if (query.signature === undefined) return unauthorizedMessage;

  const parts = [query.path, operation, query.username ?? '', token];
  if (query.expiration !== undefined) parts.push(query.expiration);
  const expected = 'v1_' + createHash('sha256').update(parts.join(':')).digest('base64').replace(/=+$/, '');
  if (!sameSecret(query.signature, expected)) return 'invalid signature';
  if (query.expiration !== undefined && !(Number(query.expiration) >= Math.floor(Date.now() / 1000))) {
    return 'signature is already expired';
  }
  return undefined;
}

/** The user name of `Authorization: Basic base64("<user>:")`, if the header has one. */
export function basicAuthUser(header: string | null | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = colon === -1 ? decoded : decoded.slice(0, colon);
  return name === '' ? undefined : name;
}
