// What changing one sandbox's outbound rules costs while many others have theirs: the server's
// own Egress class, in a table of its own (named after a data directory that is never made), with
// `sandboxCount` sandbox chains in it, then `Egress.set` of one sandbox timed one update at a time.
// Each update flips that sandbox between two policies, so the kernel really gets new rules. The map
// is keyed by interface names: no veths are needed, and no packet ever reaches these chains.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Egress, egressTableName } from '../src/runtime/network/egress.js';
import type { EgressPolicy, NetworkLease } from '../src/runtime/runtime.js';
import { percentile, type Row } from './stats.js';

const sandboxCount = 300;
const updates = 50;

function lease(i: number): NetworkLease {
  const base = 4 * i;
  const at = (n: number) => `10.77.${Math.floor((base + n) / 256)}.${(base + n) % 256}`;
  return { index: i, hostAddress: at(1), sandboxAddress: at(2), prefixLength: 30 };
}

export async function firewallUpdateRows(): Promise<Row[]> {
  const dataDir = path.join(os.tmpdir(), `sandcastle-bench-firewall-${process.pid}`);
  const config = { dataDir, networkCidr: '10.77.0.0/16', dnsServers: ['198.51.100.53'], egressAllowPrivate: ['10.20.0.0/16'] };
  const egress = new Egress(config);
  const id = (i: number) => `fwbench${i}`;
  const veth = (i: number) => `scfwbench${i}`;
  const policies: EgressPolicy[] = [
    { allowInternetAccess: true, allowOut: [], denyOut: ['198.51.100.0/24'] },
    { allowInternetAccess: false, allowOut: ['203.0.113.7', '192.0.2.0/24'], denyOut: [] },
  ];
  try {
    // Submitted together, so the queue sends them in a few transactions, as a burst of creates.
    await Promise.all(Array.from({ length: sandboxCount }, (_, i) => egress.set(id(i), veth(i), lease(i), policies[i % 2]!)));
    const target = 7;
    const times: number[] = [];
    for (let n = 0; n < updates; n++) {
      const t0 = performance.now();
      await egress.set(id(target), veth(target), lease(target), policies[n % 2]!);
      times.push(performance.now() - t0);
    }
    // The kernel has the last update: the timings were of real changes.
    const last = policies[(updates - 1) % 2]!;
    const expected = [...last.allowOut, ...last.denyOut][0]!;
    const chain = execFileSync('nft', ['list', 'chain', 'ip', egressTableName(dataDir), `sc-${id(target)}`], { encoding: 'utf8' });
    if (!chain.includes(expected)) throw new Error(`the last update of sandbox ${id(target)} (${expected}) is not in its chain:\n${chain}`);
    return [{ name: `firewall update of one sandbox, ${sandboxCount} sandboxes with rules (Egress.set → nft)`, unit: 'ms', p50: percentile(times, 50), p95: percentile(times, 95), target: '≤ 5' }];
  } finally {
    await Promise.all(Array.from({ length: sandboxCount }, (_, i) => egress.remove(id(i), veth(i)))).catch(() => undefined);
    // The last removal takes the table with it; this makes sure when a removal failed.
    try {
      execFileSync('nft', ['delete', 'table', 'ip', egressTableName(dataDir)], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
