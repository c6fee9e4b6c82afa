// Queries on sandbox_public_access: a sandbox's traffic access token and Host mask.
import type { Db } from './database.js';

export interface PublicAccessRecord {
  /** Null: the public URLs take any request. */
  trafficToken: string | null;
  /** Null: the Host header is passed on as the client sent it. */
  maskRequestHost: string | null;
}

interface Row {
  traffic_token: string | null;
  mask_request_host: string | null;
}

export class PublicAccessStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare('SELECT traffic_token, mask_request_host FROM sandbox_public_access WHERE sandbox_id = ?'),
      set: db.prepare(`INSERT INTO sandbox_public_access (sandbox_id, traffic_token, mask_request_host) VALUES (?, ?, ?)
        ON CONFLICT (sandbox_id) DO UPDATE SET traffic_token = excluded.traffic_token, mask_request_host = excluded.mask_request_host`),
    };
  }

  /** Undefined when the sandbox has no restriction and no mask (or does not exist). */
  get(sandboxId: string): PublicAccessRecord | undefined {
    const row = this.stmts.get.get(sandboxId) as Row | undefined;
    return row && { trafficToken: row.traffic_token, maskRequestHost: row.mask_request_host };
  }

  set(sandboxId: string, rec: PublicAccessRecord): void {
    this.stmts.set.run(sandboxId, rec.trafficToken, rec.maskRequestHost);
  }
}
