import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Egress, egressTableName, type Nft, openEgress, resolveEgress } from './egress.js';

it('resolves names once into /32 rules and then lets DNS through to the sandbox name servers', async () => {
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    return name === 'api.example.test' ? ['203.0.113.5', '203.0.113.6'] : Promise.reject(Object.assign(new Error('no'), { code: 'ENOTFOUND' }));
  };
  const r = await resolveEgress({ allowInternetAccess: false, allowOut: ['1.1.1.1', 'api.example.test'], denyOut: ['0.0.0.0/0'] }, ['198.51.100.53'], resolve);
  assert.deepEqual(r, { internet: false, allow: ['1.1.1.1/32', '203.0.113.5/32', '203.0.113.6/32'], deny: ['0.0.0.0/0'], dns: true });
  assert.deepEqual(asked, ['api.example.test']);
  const plain = await resolveEgress({ allowInternetAccess: true, allowOut: [], denyOut: ['8.8.8.8'] }, ['198.51.100.53'], resolve);
  assert.equal(plain.dns, false, 'without names, DNS to the resolvers is up to the other rules');
  await assert.rejects(resolveEgress({ allowInternetAccess: true, allowOut: ['gone.example.test'], denyOut: [] }, [], resolve), /allowOut entry "gone.example.test" could not be resolved \(ENOTFOUND\)/);
});

describe('Egress: the server\'s nftables table', () => {
  const config = { dataDir: '/var/lib/sandcastle-test', networkCidr: '10.77.0.0/16', dnsServers: [], egressAllowPrivate: [] };
  const table = egressTableName(config.dataDir);
  const lease = (i: number) => ({ index: i, hostAddress: `10.77.0.${4 * i + 1}`, sandboxAddress: `10.77.0.${4 * i + 2}`, prefixLength: 30 });

  /** A stand-in for nft that keeps the sandbox chains of the table, as the kernel would, and
   *  fails a transaction that names `failOn`. */
  function fakeNft(existing: string[] = [], failOn?: string) {
    const chains = new Set(existing);
    let exists = existing.length > 0;
    const transactions: string[][] = [];
    const nft: Nft = async (args, input) => {
      if (args.join(' ') === '-j list chains ip') {
        const listed = exists ? ['forward', ...chains].map((name) => ({ chain: { family: 'ip', table, name } })) : [];
        return JSON.stringify({ nftables: [{ metainfo: {} }, ...listed] });
      }
      const lines = input!.trim().split('\n');
      if (failOn && lines.some((l) => l.includes(failOn))) throw new Error(`nft -f - failed: ${failOn}`);
      transactions.push(lines);
      for (const l of lines) {
        if (l.startsWith(`add table ip ${table}`)) exists = true;
        if (l === `delete table ip ${table}`) (exists = false), chains.clear();
        const made = new RegExp(`^add chain ip ${table} (sc-\\S+)$`).exec(l)?.[1];
        if (made) chains.add(made);
        const removed = new RegExp(`^delete chain ip ${table} (sc-\\S+)$`).exec(l)?.[1];
        if (removed) chains.delete(removed);
      }
      return '';
    };
    return { nft, chains, transactions, exists: () => exists };
  }

  it('makes its table with the first sandbox, sends concurrent changes together, and removes the table with the last', async () => {
    const k = fakeNft();
    const egress = new Egress(config, k.nft);
    await egress.set('a', 'sca', lease(0), openEgress);
    assert.equal(k.transactions.length, 1);
    assert.match(k.transactions[0]![0]!, new RegExp(`^add table ip ${table} `));
    await Promise.all([egress.set('b', 'scb', lease(1), openEgress), egress.set('c', 'scc', lease(2), openEgress), egress.set('d', 'scd', lease(3), openEgress)]);
    // The first of the three went alone (nothing was running); the other two followed together.
    assert.equal(k.transactions.length, 3);
    assert.ok(!k.transactions.slice(1).flat().some((l) => l.startsWith('add table')), 'the table is made once per process');
    await Promise.all([egress.remove('a', 'sca'), egress.remove('d', 'scd')]);
    assert.deepEqual([...k.chains].sort(), ['sc-b', 'sc-c']);
    assert.deepEqual((await egress.sandboxIds()).sort(), ['b', 'c']);
    const sent = k.transactions.length;
    await egress.remove('a', 'sca');
    assert.equal(k.transactions.length, sent, 'removing what is gone asks nothing of the kernel');
    await Promise.all([egress.remove('b', 'scb'), egress.remove('c', 'scc')]);
    assert.equal(k.exists(), false, 'the last sandbox takes the table with it');
    assert.equal(k.transactions.at(-1)!.at(-1), `delete table ip ${table}`);
  });

  it('reads what a previous process left, so recovery can remove it, and rewrites the base chains once', async () => {
    const k = fakeNft(['sc-old']);
    const egress = new Egress(config, k.nft);
    assert.deepEqual(await egress.sandboxIds(), ['old']);
    await egress.set('new', 'scnew', lease(3), openEgress);
    assert.ok(k.transactions[0]!.includes(`flush chain ip ${table} forward`), 'base chains of this configuration');
    await egress.remove('old', 'scold');
    assert.deepEqual([...k.chains], ['sc-new']);
  });

  it('fails only the change that the kernel refuses when several go together', async () => {
    const k = fakeNft([], '"scbad"');
    const egress = new Egress(config, k.nft);
    await egress.set('a', 'sca', lease(0), openEgress);
    const outcomes = await Promise.allSettled([egress.set('b', 'scb', lease(1), openEgress), egress.set('bad', 'scbad', lease(2), openEgress), egress.set('c', 'scc', lease(3), openEgress)]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual([...k.chains].sort(), ['sc-a', 'sc-b', 'sc-c']);
  });
});
