import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseRouteTable } from './host-routes.js';

it('reads the networks of /proc/net/route, leaving out the default route', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'scabc\t04004D0A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n');
  assert.deepEqual([...parseRouteTable(table)], ['10.77.0.4/30', '192.0.2.0/24']);
});
