// A sandbox keeps its address for life: its network namespace, its saved states and the
// connections in them hold it, and the server finds it again from the sandbox's block of the
// range. A server started on the same data folder with another SANDCASTLE_NETWORK_CIDR would look
// for every sandbox at a wrong address; it refuses to start instead.
import type { NetworkRange } from '../runtime/network/network-lease.js';
import type { ServerSettingsStore } from '../store/server-settings-store.js';

const setting = 'network_cidr';

/** The range the data folder's sandboxes were made with, undefined before a server's first start. */
export function recordedNetworkRange(settings: ServerSettingsStore): string | undefined {
  return settings.get(setting);
}

/** Records `range` with the data folder; throws, saying what to do, when sandboxes there have
 *  addresses of another recorded range. */
export function keepNetworkRange(settings: ServerSettingsStore, sandboxCount: number, range: NetworkRange, dataDir: string): void {
  const recorded = recordedNetworkRange(settings);
  if (recorded === range.cidr) return;
  if (recorded !== undefined && sandboxCount > 0) {
    throw new Error(
      `SANDCASTLE_NETWORK_CIDR is ${range.cidr}, but the ${sandboxCount} sandbox(es) in ${dataDir} (the warm pool's included) have ` +
        `addresses in ${recorded}, the range they were made with (a sandbox keeps its address for life). Start with ` +
        `SANDCASTLE_NETWORK_CIDR=${recorded}, or kill those sandboxes with that setting first (a server that stops removes its ` +
        'warm pool) and then change it.',
    );
  }
  settings.set(setting, range.cidr);
}
