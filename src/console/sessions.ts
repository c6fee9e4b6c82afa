// Console sign-in sessions: the browser holds only a random session id in an HttpOnly,
// SameSite=Strict cookie; the API key it was opened with stays here, in memory, so it never
// reaches a URL, the page's scripts or the disk. A restart signs everyone out.
import { randomBytes } from 'node:crypto';
import type { ApiKeyStore } from '../store/api-key-store.js';

export const sessionCookie = 'sandcastle_console';
/** A session unused this long is forgotten. */
const idleMs = 12 * 60 * 60 * 1000;
/** Bounds the memory a flood of sign-ins can take; the oldest session goes first. */
const maxSessions = 10_000;

interface Session {
  /** Undefined when the server runs without key checks. */
  key: string | undefined;
  lastUsed: number;
}

export const deletedKeyMessage = 'signed out: the API key of this session was deleted';

export type SessionCheck = { ok: true; key: string | undefined } | { ok: false; why: string };

export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();

  /** `keys` is undefined when the server runs without key checks (`SANDCASTLE_AUTH=none`). */
  constructor(private readonly keys: ApiKeyStore | undefined) {}

  get keysChecked(): boolean {
    return this.keys !== undefined;
  }

  /** A new session id for a valid key, or undefined for a wrong one. */
  open(key: string): string | undefined {
    if (this.keys && !this.keys.isValid(key)) return undefined;
    if (this.sessions.size >= maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { key: this.keys ? key : undefined, lastUsed: Date.now() });
    return id;
  }

  /** Whether a session id still signs in: its key must still exist. */
  check(id: string | undefined): SessionCheck {
    if (!this.keys) return { ok: true, key: undefined };
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session || Date.now() - session.lastUsed > idleMs) {
      if (id !== undefined) this.sessions.delete(id);
      return { ok: false, why: 'not signed in' };
    }
    if (!this.keys.isValid(session.key!)) {
      this.sessions.delete(id!);
      return { ok: false, why: deletedKeyMessage };
    }
    session.lastUsed = Date.now();
    return { ok: true, key: session.key };
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }
}
