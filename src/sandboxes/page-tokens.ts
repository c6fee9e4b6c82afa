// The `nextToken`s of paged lists: opaque to clients (base64url), each naming where the next page
// starts. A token this server did not issue is a 400, never a silent first page.
import { errors } from '../errors.js';
import type { ListCursor } from '../store/sandbox-store.js';

/** Sandboxes: the (startedAt, seq) of the last one listed. */
export function encodePageToken(cursor: ListCursor): string {
  return Buffer.from(`${cursor.startedAt}:${cursor.seq}`).toString('base64url');
}

export function decodePageToken(token: string): ListCursor {
  const m = /^(\d+):(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw errors.badRequest(`nextToken '${token}' is not a token this server issued`);
  return { startedAt: Number(m[1]), seq: Number(m[2]) };
}

/** Snapshots: the id of the first one on the next page. */
export function encodeSnapshotToken(id: string): string {
  return Buffer.from(id).toString('base64url');
}

export function decodeSnapshotToken(token: string): string {
  return Buffer.from(token, 'base64url').toString();
}
