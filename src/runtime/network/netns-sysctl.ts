// A sandbox network's sysctls, set by a small static helper (netns-sysctl.c) that joins the
// namespace and writes them: one program started instead of nsenter and sysctl.
import { hostHelper } from '../host-helper.js';
import { runCommand } from '../run-command.js';

/** Sets each dotted key (`net.ipv4.…`) to its value in the network namespace at `netnsPath`. */
export async function setNetnsSysctls(netnsPath: string, values: Record<string, string>): Promise<void> {
  await runCommand(hostHelper('sandcastle-netns-sysctl', 'network sysctl helper'), [netnsPath, ...Object.entries(values).flat()]);
}
