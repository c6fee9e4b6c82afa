// Queries on the server_settings table: settings recorded with the data folder, so that a server
// started with other values can tell.
import type { Db } from './database.js';

export class ServerSettingsStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare('SELECT value FROM server_settings WHERE name = ?'),
      set: db.prepare('INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    };
  }

  get(name: string): string | undefined {
    return (this.stmts.get.get(name) as { value: string } | undefined)?.value;
  }

  set(name: string, value: string): void {
    this.stmts.set.run(name, value);
  }
}
