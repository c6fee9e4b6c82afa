// Access checks (protocol §4.1, §4.3): the `X-Access-Token` header, the signed `/files` URLs, and
// the user named by Basic auth.
import { timingSafeEqual } from 'node:crypto';
import { fileSignature, type SignedFileQuery } from './file-signature.js';
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

/**
 * `/files` access: the token header, or else a `signature` over
 * `<path>:<operation>:<user or empty>:<token>[:<expiry>]`. Returns an error message or undefined.
 */
export function checkFilesAccess(
  header: string | undefined,
  operation: 'read' | 'write',
  query: SignedFileQuery,
): string | undefined {
  const token = state.accessToken;
  if (token === undefined) return undefined;
  if (header !== undefined) return sameSecret(header, token) ? undefined : 'access token present in header but does not match';
  if (query.signature === undefined) return unauthorizedMessage;

  if (!sameSecret(query.signature, fileSignature(query, operation, token))) return 'invalid signature';
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
