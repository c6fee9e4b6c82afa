// A sandbox network's sysctls, set by a small static helper (netns-sysctl.c) that joins the
// namespace and writes them: one program started instead of nsenter and sysctl.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { installDir } from '../../config.js';
import { runCommand } from '../run-command.js';

/** Built by `npm run build` (scripts/build-host-helpers.mjs). */
const helperPath = path.join(installDir, 'dist', 'host', 'sandcastle-netns-sysctl');

/** Sets each dotted key (`net.ipv4.…`) to its value in the network namespace at `netnsPath`. */
export async function setNetnsSysctls(netnsPath: string, values: Record<string, string>): Promise<void> {
  if (!existsSync(helperPath)) throw new Error(`the network sysctl helper ${helperPath} is missing: build it with \`npm run build\` (scripts/setup-host.sh runs it)`);
  await runCommand(helperPath, [netnsPath, ...Object.entries(values).flat()]);
}
