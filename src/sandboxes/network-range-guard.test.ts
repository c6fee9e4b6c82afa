import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NetworkRange } from '../runtime/network/network-lease.js';
import { openDatabase } from '../store/database.js';
import { ServerSettingsStore } from '../store/server-settings-store.js';
import { keepNetworkRange } from './network-range-guard.js';

it('records the range, and refuses another one only while sandboxes have addresses of the recorded one', () => {
  const settings = new ServerSettingsStore(openDatabase(':memory:'));
  keepNetworkRange(settings, 3, new NetworkRange('10.77.0.0/16'), '/data');
  assert.equal(settings.get('network_cidr'), '10.77.0.0/16', 'a data folder from before the setting was recorded takes the current one');
  keepNetworkRange(settings, 3, new NetworkRange('10.77.5.9/16'), '/data');
  assert.throws(
    () => keepNetworkRange(settings, 3, new NetworkRange('10.99.0.0/16'), '/data'),
    /SANDCASTLE_NETWORK_CIDR is 10\.99\.0\.0\/16, but the 3 sandbox\(es\) in \/data \(the warm pool.s included\) have addresses in 10\.77\.0\.0\/16[^]*Start with SANDCASTLE_NETWORK_CIDR=10\.77\.0\.0\/16/,
  );
  assert.equal(settings.get('network_cidr'), '10.77.0.0/16', 'a refused start changes nothing');
  keepNetworkRange(settings, 0, new NetworkRange('10.99.0.0/16'), '/data');
  assert.equal(settings.get('network_cidr'), '10.99.0.0/16', 'with no sandbox left the range may change');
});
