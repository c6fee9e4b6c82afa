// Against the real nft (tests run as root), in a table of its own that it removes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, it } from 'node:test';
import { NftShell } from './nft-shell.js';

const table = `sandcastle-shelltest${process.pid}`;
const listed = () => execFileSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' });

after(() => {
  try {
    execFileSync('nft', ['delete', 'table', 'ip', table], { stdio: 'ignore' });
  } catch {
    // not there
  }
});

it('commits each transaction whole or not at all, says why nft refused one, and goes on after it', async () => {
  const shell = new NftShell();
  await shell.run([`add table ip ${table}`, `add chain ip ${table} c`, `add set ip ${table} s { type ipv4_addr; flags interval; }`]);
  await assert.rejects(shell.run([`add rule ip ${table} c accept`, `add rule ip ${table} c ip daddr @missing accept`]), /nft refused the transaction: .*missing/);
  assert.doesNotMatch(listed(), /accept/, 'the first command of the refused transaction was not committed either');
  // Concurrent transactions are answered in order, each with its own outcome.
  const outcomes = await Promise.allSettled([
    shell.run([`add element ip ${table} s { 10.0.0.0/8 }`]),
    shell.run([`flush chain ip ${table} nosuchchain`]),
    shell.run([`add rule ip ${table} c ip daddr @s accept`]),
  ]);
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(listed(), /ip daddr @s accept/);
  assert.match(listed(), /10\.0\.0\.0\/8/);
  await assert.rejects(shell.run(['add rule ip x c accept\nflush ruleset']), /line break/);
  await shell.run([`delete table ip ${table}`]);
});

it('starts a new nft once the current one has been sent its share, and goes on', async () => {
  const shell = new NftShell(1);
  await shell.run([`add table ip ${table}`]);
  await shell.run([`add chain ip ${table} after_restart`]);
  await Promise.all([shell.run([`add chain ip ${table} a`]), shell.run([`add chain ip ${table} b`])]);
  assert.match(listed(), /chain after_restart[^]*chain a[^]*chain b/);
  await shell.run([`delete table ip ${table}`]);
});
