import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sessionsTo, statCounters, tableEntries } from './haproxy-admin.js';

// Shapes as HAProxy 2.6 prints them (abridged where lines do not matter).
const showSessAll = `0x55be074be9e0: [03/Dec/2026:18:09:22.737905] id=3 proto=tcpv4 source=127.0.0.1:48566
  flags=0x1ce, conn_retries=1, conn_exp=<NEVER> conn_et=0x000 srv_conn=0x55be073fa3b0, pend_pos=(nil) waiting=0 epoch=0
  frontend=public (id=2 mode=http), listener=? (id=1) addr=127.0.0.1:80
  backend=direct_plain (id=3 mode=http) addr=10.77.0.1:38030
  server=sandbox (id=1) addr=10.77.0.12:8000
0x55be075b5d00: [03/Dec/2026:18:09:23.099285] id=4 proto=tcpv4 source=127.0.0.1:48570
  frontend=public (id=2 mode=http), listener=? (id=1) addr=127.0.0.1:80
  backend=direct_plain (id=3 mode=http) addr=10.77.0.1:38032
  server=sandbox (id=1) addr=10.77.0.120:8000
0x55be075b7000: [03/Dec/2026:18:09:23.099285] id=6 proto=tcpv4 source=127.0.0.1:48590
  frontend=api (id=3 mode=http), listener=? (id=1) addr=127.0.0.1:3000
  backend=direct_api (id=9 mode=http) addr=10.77.0.1:38040
  server=sandbox (id=1) addr=10.77.0.12:49983
0x55be075b6000: [03/Dec/2026:18:09:23.099285] id=5 proto=unix_stream source=unix:1
  frontend=GLOBAL (id=0 mode=tcp), listener=? (id=1) addr=unix:1
  backend=<NONE> (id=-1 mode=-)
  server=<NONE> (id=-1)
`;

it('finds the sessions of a frontend whose server connection goes to an address, and only those', () => {
  assert.deepEqual(sessionsTo(showSessAll, '10.77.0.12', 'public'), ['0x55be074be9e0']);
  assert.deepEqual(sessionsTo(showSessAll, '10.77.0.120', 'public'), ['0x55be075b5d00']);
  assert.deepEqual(sessionsTo(showSessAll, '10.77.0.1', 'public'), []);
  assert.deepEqual(sessionsTo(showSessAll, '10.77.0.12', 'api'), ['0x55be075b7000']);
});

it('reads the per-sandbox traffic counters of the stick table', () => {
  const text = `# table: traffic, type: string, size:102400, used:2
0x555bd6f5cbd8: key=aaa use=0 exp=3599908 http_req_cnt=1 bytes_in_cnt=96 bytes_out_cnt=134
0x555bd6f5cc00: key=bbb use=2 exp=3599000 http_req_cnt=7 bytes_in_cnt=700 bytes_out_cnt=9000

`;
  assert.deepEqual(tableEntries(text), [
    { key: 'aaa', use: 0, requests: 1, bytesIn: 96, bytesOut: 134 },
    { key: 'bbb', use: 2, requests: 7, bytesIn: 700, bytesOut: 9000 },
  ]);
});

it('reads sessions and bytes of each proxy and server from show stat', () => {
  const text = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq
public,FRONTEND,,,3,4,9987,10,960,1340,0
direct_plain,sandbox,0,0,2,3,,9,900,1200,
direct_plain,node,0,0,0,1,,1,60,140,
direct_plain,BACKEND,0,0,2,4,999,10,960,1340,0
`;
  const stats = statCounters(text);
  assert.deepEqual(stats.get('direct_plain/sandbox'), { total: 9, current: 2, bytesIn: 900, bytesOut: 1200 });
  assert.deepEqual(stats.get('public/FRONTEND'), { total: 10, current: 3, bytesIn: 960, bytesOut: 1340 });
});
