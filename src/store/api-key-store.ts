// API keys of the control plane. Only a hash of each key is stored: the key itself is shown once,
// when it is made. Keys have the e2b SDK's shape (`e2b_` and 40 hex digits), which the SDK checks
// before sending; the novita SDK takes any string.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import type { Db } from './database.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  createdAt: number;
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');
const newKey = () => `e2b_${randomBytes(20).toString('hex')}`;

export class ApiKeyStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT INTO api_keys (id, hash, name, created_at) VALUES (?, ?, ?, ?)'),
      byHash: db.prepare('SELECT 1 FROM api_keys WHERE hash = ?'),
      all: db.prepare('SELECT id, name, created_at AS createdAt FROM api_keys ORDER BY created_at'),
      delete: db.prepare('DELETE FROM api_keys WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM api_keys'),
    };
  }

  /** A new key: its record, and the key itself (not stored). */
  create(name: string, key = newKey()): { record: ApiKeyRecord; key: string } {
    const record = { id: `key_${randomBytes(6).toString('hex')}`, name, createdAt: Date.now() };
    this.stmts.insert.run(record.id, hashOf(key), record.name, record.createdAt);
    return { record, key };
  }

  isValid(key: string): boolean {
    return this.stmts.byHash.get(hashOf(key)) !== undefined;
  }

  list(): ApiKeyRecord[] {
    return this.stmts.all.all() as ApiKeyRecord[];
  }

  /** False when there was no key of that id. */
  delete(id: string): boolean {
    return this.stmts.delete.run(id).changes > 0;
  }

  count(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }
}

/** A server started with key checks and no key yet makes one, so the README's first run works: it
 *  is written, readable by root only, to `file` for the user to export. Returns whether it did. */
export async function ensureFirstApiKey(keys: ApiKeyStore, file: string): Promise<boolean> {
  if (keys.count() > 0) return false;
  // The file first: a key stored but never written would leave nobody able to call the API.
  const key = newKey();
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  // A file left from an earlier set-up keeps its mode through writeFile.
  await chmod(file, 0o600);
  keys.create('default', key);
  return true;
}
