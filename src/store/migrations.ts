// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
// Append new entries, never edit applied ones. Plain SQL that PostgreSQL also accepts where it can.
export const migrations: string[] = [
  `
  CREATE TABLE templates (
    id            TEXT PRIMARY KEY,
    alias         TEXT,
    layers        TEXT NOT NULL,            -- JSON array of read-only rootfs dirs, top first
    cpu_count     INTEGER NOT NULL,
    memory_mb     INTEGER NOT NULL,
    disk_size_mb  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
  );

  CREATE TABLE sandboxes (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT, -- creation order, used for paging
    id                    TEXT NOT NULL UNIQUE,
    template_id           TEXT NOT NULL,
    alias                 TEXT,
    state                 TEXT NOT NULL,    -- starting | running | paused | killing
    envd_token            TEXT NOT NULL,
    metadata              TEXT NOT NULL,    -- JSON object string -> string
    env_vars              TEXT NOT NULL,    -- JSON object string -> string
    cpu_count             INTEGER NOT NULL,
    memory_mb             INTEGER NOT NULL,
    disk_size_mb          INTEGER NOT NULL,
    started_at            INTEGER NOT NULL, -- unix ms
    end_at                INTEGER NOT NULL, -- unix ms: the deadline
    auto_pause            INTEGER NOT NULL,
    auto_resume           INTEGER NOT NULL,
    allow_internet_access INTEGER NOT NULL,
    network_index         INTEGER UNIQUE    -- the /30 leased to the sandbox's veth pair
  );
  CREATE INDEX sandboxes_state ON sandboxes(state);
  `,
  `
  -- A template's service started beside envd when a sandbox boots (e.g. the code interpreter).
  ALTER TABLE templates ADD COLUMN start_cmd TEXT;
  `,
  `
  -- Pause/resume, clone and idle timeout.
  ALTER TABLE sandboxes ADD COLUMN timeout_s INTEGER NOT NULL DEFAULT 300; -- the timeout asked for
  ALTER TABLE sandboxes ADD COLUMN paused_at INTEGER;                      -- unix ms
  ALTER TABLE sandboxes ADD COLUMN idle_timeout_s INTEGER;                 -- from metadata idle_timeout
  -- A snapshot is a template whose sandboxes start from a saved state (checkpoint + writable layer).
  ALTER TABLE templates ADD COLUMN snapshot_dir TEXT;
  ALTER TABLE templates ADD COLUMN snapshot_address TEXT;                  -- sandbox address when saved
  ALTER TABLE templates ADD COLUMN source_sandbox_id TEXT;
  ALTER TABLE templates ADD COLUMN snapshot_token TEXT;                    -- envd's token when saved
  `,
  `
  -- Metric samples (every 2 s while a sandbox runs), kept while their sandbox exists.
  CREATE TABLE sandbox_metrics (
    sandbox_id    TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,         -- unix ms
    cpu_count     INTEGER NOT NULL,
    cpu_used_pct  REAL NOT NULL,
    mem_used      INTEGER NOT NULL,         -- bytes
    mem_total     INTEGER NOT NULL,
    mem_cache     INTEGER NOT NULL,
    disk_used     INTEGER NOT NULL,
    disk_total    INTEGER NOT NULL
  );
  CREATE INDEX sandbox_metrics_by_sandbox ON sandbox_metrics(sandbox_id, at);
  `,
  `
  -- Fast create: a template's saved state with envd (and its start command's service) running,
  -- which new sandboxes are restored from; the key says which runtime inputs it was taken with.
  ALTER TABLE templates ADD COLUMN ready_port INTEGER;   -- the start command's service answers /health here
  ALTER TABLE templates ADD COLUMN boot_checkpoint_dir TEXT;
  ALTER TABLE templates ADD COLUMN boot_checkpoint_address TEXT;
  ALTER TABLE templates ADD COLUMN boot_checkpoint_key TEXT;
  `,
  `
  -- Outbound rules ({allowOut, denyOut} as JSON; NULL when none): kept for clones, for restores
  -- that recreate the network, and for get info.
  ALTER TABLE sandboxes ADD COLUMN network_rules TEXT;
  `,
  `
  -- API keys of the control plane (sha256 of the key; the key is shown once, when made).
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL            -- unix ms
  );
  `,
  `
  -- The lifecycle journal: an operation's intent, written before it acts, and its outcome after;
  -- detail (JSON) holds what recovery needs to finish or undo it (sandboxes/state.ts).
  CREATE TABLE operations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,             -- create | pause | resume | clone | snapshot | kill | network | timeout
    sandbox_id   TEXT NOT NULL,
    detail       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,          -- unix ms
    finished_at  INTEGER,                   -- unix ms; NULL while in flight
    outcome      TEXT,                      -- ok | failed | recovered
    error        TEXT
  );
  CREATE INDEX operations_open ON operations(finished_at) WHERE finished_at IS NULL;
  `,
  `
  -- A template, a snapshot and a template's saved boot state are three things: snapshots and boot
  -- states leave the templates table for their own. A sandbox keeps the root filesystem it was
  -- made with (layers, start command), so deleting its template or snapshot never strands it.
  CREATE TABLE snapshots (
    id                 TEXT PRIMARY KEY,
    source_sandbox_id  TEXT NOT NULL,
    layers             TEXT NOT NULL,       -- JSON array, top first, as the source had them
    start_cmd          TEXT,
    cpu_count          INTEGER NOT NULL,
    memory_mb          INTEGER NOT NULL,
    disk_size_mb       INTEGER NOT NULL,
    checkpoint_dir     TEXT NOT NULL,       -- the saved memory (image/) and writable layer (upper/)
    address            TEXT NOT NULL,       -- the source's address when saved
    envd_token         TEXT NOT NULL,       -- envd's token in the saved state
    created_at         INTEGER NOT NULL
  );
  INSERT INTO snapshots
    SELECT id, COALESCE(source_sandbox_id, ''), layers, NULL, cpu_count, memory_mb, disk_size_mb, snapshot_dir,
           COALESCE(snapshot_address, ''), COALESCE(snapshot_token, ''), created_at
    FROM templates WHERE snapshot_dir IS NOT NULL;
  CREATE TABLE boot_states (
    template_id     TEXT PRIMARY KEY,
    checkpoint_dir  TEXT NOT NULL,
    address         TEXT NOT NULL,
    state_key       TEXT NOT NULL           -- the runtime inputs it was taken with
  );
  INSERT INTO boot_states
    SELECT id, boot_checkpoint_dir, boot_checkpoint_address, boot_checkpoint_key
    FROM templates WHERE boot_checkpoint_dir IS NOT NULL AND boot_checkpoint_address IS NOT NULL AND boot_checkpoint_key IS NOT NULL;
  ALTER TABLE sandboxes ADD COLUMN layers TEXT;
  ALTER TABLE sandboxes ADD COLUMN start_cmd TEXT;
  UPDATE sandboxes SET layers = (SELECT t.layers FROM templates t WHERE t.id = sandboxes.template_id),
                       start_cmd = (SELECT t.start_cmd FROM templates t WHERE t.id = sandboxes.template_id);
  UPDATE sandboxes SET layers = '[]' WHERE layers IS NULL;
  DELETE FROM templates WHERE snapshot_dir IS NOT NULL;
  ALTER TABLE templates DROP COLUMN snapshot_dir;
  ALTER TABLE templates DROP COLUMN snapshot_address;
  ALTER TABLE templates DROP COLUMN source_sandbox_id;
  ALTER TABLE templates DROP COLUMN snapshot_token;
  ALTER TABLE templates DROP COLUMN boot_checkpoint_dir;
  ALTER TABLE templates DROP COLUMN boot_checkpoint_address;
  ALTER TABLE templates DROP COLUMN boot_checkpoint_key;
  `,
  `
  -- Saved states are named, not located: the runtime keeps each where it likes (a snapshot is
  -- named by its id, a boot state by its template and key), so their folders leave the tables.
  ALTER TABLE snapshots DROP COLUMN checkpoint_dir;
  ALTER TABLE boot_states DROP COLUMN checkpoint_dir;
  `,
  `
  -- User templates (built from the SDK's Template builder or a Dockerfile). What a build gives
  -- every sandbox of the template: environment, default user and folder, and a start command
  -- that envd runs as that user, polled with the ready command until it succeeds.
  ALTER TABLE templates ADD COLUMN env_vars TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE templates ADD COLUMN default_user TEXT;
  ALTER TABLE templates ADD COLUMN default_workdir TEXT;
  ALTER TABLE templates ADD COLUMN service_cmd TEXT;
  ALTER TABLE templates ADD COLUMN ready_cmd TEXT;
  ALTER TABLE templates ADD COLUMN build_id TEXT;        -- NULL for a built-in template
  ALTER TABLE templates ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
  CREATE UNIQUE INDEX templates_alias ON templates(alias);
  CREATE TABLE template_builds (
    id             TEXT PRIMARY KEY,
    template_id    TEXT NOT NULL,
    status         TEXT NOT NULL,           -- waiting | building | ready | error
    reason         TEXT,                    -- JSON {message, step?} of a failed build
    cpu_count      INTEGER NOT NULL,
    memory_mb      INTEGER NOT NULL,
    result         TEXT,                    -- JSON template fields of a ready build
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER
  );
  CREATE INDEX template_builds_template ON template_builds(template_id);
  CREATE TABLE template_build_logs (
    build_id   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    timestamp  INTEGER NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL,
    step       TEXT,
    PRIMARY KEY (build_id, seq)
  );
  CREATE TABLE template_tags (
    template_id  TEXT NOT NULL,
    tag          TEXT NOT NULL,
    build_id     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (template_id, tag)
  );
  `,
  `
  -- Pause without memory (e2b's keepMemory: false): the files are kept, the processes reboot on
  -- resume. auto_pause_memory is what a timeout's pause does; paused_without_memory marks a pause
  -- whose resume boots instead of restoring.
  ALTER TABLE sandboxes ADD COLUMN auto_pause_memory INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE sandboxes ADD COLUMN paused_without_memory INTEGER NOT NULL DEFAULT 0;
  -- A snapshot's name (createSnapshot({ name })): sandboxes are created from it by that name, the
  -- newest snapshot of a name winning.
  ALTER TABLE snapshots ADD COLUMN name TEXT;
  CREATE INDEX snapshots_name ON snapshots(name);
  `,
  `
  -- Volumes: folders that outlive sandboxes, mounted read-write where a create names them. The
  -- token authenticates the volume content API. A sandbox's mounts go with its row; a volume with
  -- mounts cannot be deleted (RESTRICT).
  CREATE TABLE volumes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token       TEXT NOT NULL,
    created_at  INTEGER NOT NULL            -- unix ms
  );
  CREATE TABLE sandbox_volumes (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    volume_id   TEXT NOT NULL REFERENCES volumes(id) ON DELETE RESTRICT,
    path        TEXT NOT NULL,              -- the mount point inside the sandbox
    PRIMARY KEY (sandbox_id, path)
  );
  CREATE INDEX sandbox_volumes_volume ON sandbox_volumes(volume_id);
  `,
  `
  -- Who may use a sandbox's public URLs: with allowPublicTraffic false every request but envd's
  -- must carry traffic_token (the e2b-traffic-access-token header); mask_request_host is the Host
  -- the sandbox's servers see (\${PORT} replaced by the port). No row: public, Host untouched.
  CREATE TABLE sandbox_public_access (
    sandbox_id         TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
    traffic_token      TEXT,
    mask_request_host  TEXT
  );
  `,
  `
  -- The volumes a snapshot's sandbox mounted: its saved image binds them again, so sandboxes made
  -- from it mount them too, and such a volume is not deleted while the snapshot lives.
  CREATE TABLE snapshot_volumes (
    snapshot_id  TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    volume_id    TEXT NOT NULL REFERENCES volumes(id) ON DELETE RESTRICT,
    path         TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, path)
  );
  CREATE INDEX snapshot_volumes_volume ON snapshot_volumes(volume_id);
  `,
  `
  -- Settings the data folder's sandboxes depend on, as they were when the sandboxes were made
  -- (network_cidr: the range their addresses come from).
  CREATE TABLE server_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  `
  -- settled: the boot state was saved once its sandbox's start-up work was done (V8's memory
  -- reducer ran); a build's state is saved before that and saved again settled later.
  ALTER TABLE boot_states ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
  `,
];
