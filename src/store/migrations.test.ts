import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { BootStateStore } from './boot-state-store.js';
import { openDatabase } from './database.js';
import { migrations } from './migrations.js';
import { SandboxStore } from './sandbox-store.js';
import { SnapshotStore } from './snapshot-store.js';
import { TemplateStore } from './template-store.js';

it('moves snapshots and boot states out of templates, and gives sandboxes their layers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-migrations-'));
  try {
    const file = path.join(dir, 'db');
    const old = new Database(file);
    for (const m of migrations.slice(0, 8)) old.exec(m);
    old.pragma('user_version = 8');
    old.exec(`INSERT INTO templates (id, alias, layers, cpu_count, memory_mb, disk_size_mb, created_at, start_cmd, ready_port,
        boot_checkpoint_dir, boot_checkpoint_address, boot_checkpoint_key)
      VALUES ('code', 'code', '["/t/code","/t/base"]', 2, 512, 1024, 1, 'serve', 49999, '/d/template-states/code-1', '10.0.0.2', 'k1')`);
    old.exec(`INSERT INTO templates (id, alias, layers, cpu_count, memory_mb, disk_size_mb, created_at, snapshot_dir, snapshot_address,
        source_sandbox_id, snapshot_token)
      VALUES ('snap-a', NULL, '["/t/code","/t/base"]', 2, 512, 1024, 2, '/d/snapshots/snap-a', '10.0.0.6', 'src1', 'tok')`);
    old.exec(`INSERT INTO sandboxes (id, template_id, alias, state, envd_token, metadata, env_vars, cpu_count, memory_mb, disk_size_mb,
        started_at, end_at, auto_pause, auto_resume, allow_internet_access, network_index)
      VALUES ('s1', 'code', 'code', 'running', 't', '{}', '{}', 2, 512, 1024, 1, 2, 0, 0, 1, 3)`);
    old.close();

    const db = openDatabase(file);
    assert.deepEqual(new TemplateStore(db).all().map((t) => t.id), ['code']);
    const snap = new SnapshotStore(db).get('snap-a');
    assert.equal(snap?.sourceSandboxId, 'src1');
    assert.equal(snap?.envdToken, 'tok');
    assert.deepEqual(new BootStateStore(db).get('code'), { templateId: 'code', address: '10.0.0.2', key: 'k1', settled: false });
    const sandbox = new SandboxStore(db).get('s1');
    assert.deepEqual(sandbox?.layers, ['/t/code', '/t/base']);
    assert.equal(sandbox?.startCmd, 'serve');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
