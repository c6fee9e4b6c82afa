// Where traffic into a sandbox (envd, the interpreter, user ports) goes, answered in one call for
// both proxies: the address, or the error that says why the sandbox takes no traffic. A paused
// sandbox with auto-resume is resumed first; traffic counts as activity for the idle timeout.
import { describe, errors, type SandcastleError } from '../errors.js';
import { envdPort } from '../protocol.js';
import type { Lifecycle } from './lifecycle.js';

export type TrafficRoute = { address: string } | { error: SandcastleError };

export async function routeTraffic(lc: Lifecycle, resume: (id: string) => Promise<unknown>, id: string, port: number): Promise<TrafficRoute> {
  let rec = lc.store.get(id);
  if (rec && (rec.state === 'paused' || rec.state === 'pausing' || rec.state === 'resuming') && rec.autoResume) {
    try {
      await resume(id);
    } catch (err) {
      return { error: errors.sandboxGone(id, `not available: ${describe(err)}`) };
    }
    rec = lc.store.get(id);
  }
  if (rec && rec.state === 'running' && rec.networkIndex !== null) {
    if (rec.idleTimeoutSeconds !== null) lc.lastActivity.set(id, Date.now());
    return { address: lc.records.addressOf(rec) };
  }
  if (!rec || rec.state === 'starting' || rec.state === 'pooled') {
    // The SDKs read a 502 on envd's port as "the sandbox is not running" (isRunning() → false).
    return { error: port === envdPort ? errors.sandboxGone(id, 'not found') : errors.sandboxNotFound(id) };
  }
  if (rec.state === 'paused' || rec.state === 'pausing') return { error: errors.sandboxPaused(id) };
  return { error: errors.sandboxGone(id, rec.state === 'killing' ? 'being killed' : `${rec.state}, not running`) };
}
