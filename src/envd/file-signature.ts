// The signature of a `/files` URL (protocol §4.3), as the SDKs make it in downloadUrl/uploadUrl:
// `v1_` + unpadded base64 of sha256(`<path>:<read|write>:<user or empty>:<envd token>[:<expiry>]`).
// Used by envd to check a URL and by the server to find the sandbox a header-less one is for.
import { createHash } from 'node:crypto';

export interface SignedFileQuery {
  path: string;
  username: string | undefined;
  signature: string | undefined;
  expiration: string | undefined;
}

export function fileSignature(query: Omit<SignedFileQuery, 'signature'>, operation: 'read' | 'write', token: string): string {
  const parts = [query.path, operation, query.username ?? '', token];
  if (query.expiration !== undefined) parts.push(query.expiration);
  return 'v1_' + createHash('sha256').update(parts.join(':')).digest('base64').replace(/=+$/, '');
}

/** The signed-URL fields of a `/files` query string. */
export function signedFileQuery(query: URLSearchParams): SignedFileQuery {
  return {
    path: query.get('path') ?? '',
    username: query.get('username') || undefined,
    signature: query.get('signature') ?? undefined,
    expiration: query.get('signature_expiration') ?? undefined,
  };
}
