// Uploads are written to a temporary sibling and renamed over their destination when complete.
// Directory watchers consult this registry to report that the way the real envd's in-place
// writes look: CREATE (for a new file) and WRITE events under the destination's own name.
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface PendingUpload {
  target: string;
  /** The destination existed before (an overwrite): no CREATE then. */
  existed: boolean;
}

const pending = new Map<string, PendingUpload>();
// Watchers classify events asynchronously, so a finished upload is remembered a little longer.
const forgetAfterMs = 2000;

export function beginUpload(target: string, existed: boolean): string {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.upload`);
  pending.set(tmp, { target, existed });
  return tmp;
}

export function endUpload(tmp: string): void {
  setTimeout(() => pending.delete(tmp), forgetAfterMs).unref();
}

/** The upload that `p` is the temporary file of. */
export function uploadOf(p: string): PendingUpload | undefined {
  return pending.get(p);
}

/** True while `p` is the destination of an upload (its rename into place is not news). */
export function isUploadTarget(p: string): boolean {
  for (const upload of pending.values()) if (upload.target === p) return true;
  return false;
}
