// Soak part (c): clone a running sandbox ×4, round after round; every clone must hold the source's
// file byte for byte, the clones are killed each round, and the source must still hold it at the end.
import { createHash, randomBytes } from 'node:crypto';
import { Sandbox } from 'novita-sandbox';
import { Tally } from './soak-tally.js';

const checkFile = '/home/user/clone-check';

export async function cloneSoak(rounds: number, perRound: number): Promise<Tally> {
  const tally = new Tally('clone rounds');
  const content = randomBytes(256 * 1024);
  const expected = createHash('sha256').update(content).digest('hex');
  const source = await Sandbox.create({ timeoutMs: 3_600_000 });
  const hashIn = async (sbx: Sandbox) => (await sbx.commands.run(`sha256sum ${checkFile}`)).stdout.split(' ')[0];
  try {
    await source.files.write(checkFile, new Blob([content]));
    for (let i = 1; i <= rounds && !tally.givenUp; i++) {
      let clones: Sandbox[] = [];
      try {
        clones = (await Sandbox.clone(source.sandboxId, { count: perRound, timeoutMs: 600_000 })).sandboxes;
        if (clones.length !== perRound) tally.difference(`round ${i}: ${clones.length} clones, asked for ${perRound}`);
        const sums = await Promise.all(clones.map(hashIn));
        sums.forEach((sum, k) => sum !== expected && tally.difference(`round ${i}: ${checkFile} in clone ${clones[k]!.sandboxId} has sha256 ${sum}, expected ${expected}`));
        tally.success();
      } catch (err) {
        tally.error(`round ${i}`, err);
      } finally {
        await Promise.allSettled(clones.map((c) => c.kill()));
      }
      if (i % 10 === 0) console.log(`  clones: ${i}/${rounds} rounds, ${tally.differences} differences, ${tally.errors} errors`);
    }
    const sum = await hashIn(source);
    if (sum !== expected) tally.difference(`the source's ${checkFile} has sha256 ${sum} after the clones, expected ${expected}`);
  } finally {
    await source.kill().catch(() => undefined);
  }
  return tally;
}
