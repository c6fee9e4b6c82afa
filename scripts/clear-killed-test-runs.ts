// Clears what test servers of an earlier, killed test run left (a run cut off mid-test leaves its
// server's sandboxes, mounts, veths and rules), so that the suite's final no-leftovers check
// judges this run only. Each such server is started again on its data folder: its own recovery
// finds what is left, then it is disposed of as a test disposes of its server.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataFiles } from '../src/config.js';
import { recordedNetworkRange } from '../src/sandboxes/network-range-guard.js';
import { openDatabase } from '../src/store/database.js';
import { ServerSettingsStore } from '../src/store/server-settings-store.js';
import { disposeServer, startServerProcess } from '../test/support/server-process.js';

/** Data folders of test servers that no running process holds open. */
function killedServerFolders(): string[] {
  const folders = readdirSync(os.tmpdir())
    .filter((name) => /^sandcastle-test-[A-Za-z0-9]{6}$/.test(name))
    .map((name) => path.join(os.tmpdir(), name));
  const held = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        for (const folder of folders) if (target.startsWith(`${folder}/`)) held.add(folder);
      } catch {
        // closed meanwhile
      }
    }
  }
  return folders.filter((folder) => !held.has(folder));
}

// A folder without a database is one whose server never got as far as mounting anything.
for (const dataDir of killedServerFolders().filter((folder) => existsSync(dataFiles(folder).database))) {
  console.log(`clearing what a killed test run left in ${dataDir}`);
  // Test servers each take a random address range, which their sandboxes keep.
  const db = openDatabase(dataFiles(dataDir).database);
  const range = recordedNetworkRange(new ServerSettingsStore(db));
  db.close();
  await disposeServer(await startServerProcess({ dataDir, env: range ? { SANDCASTLE_NETWORK_CIDR: range } : {} }));
}
