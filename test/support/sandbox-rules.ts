// What the kernel has of sandboxes' outbound rules: each server's nftables table
// (src/runtime/network/egress.ts) holds a chain `sc-<id>` per sandbox and a map entry jumping to it.
import { execFileSync } from 'node:child_process';

export function nftRuleset(): string {
  // nft warns on stderr about tables iptables-nft manages; a failure still throws with it.
  return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The sandbox's chain with its rules, and every other line that names it (its map entry). */
export function sandboxRules(id: string, ruleset = nftRuleset()): string[] {
  const out: string[] = [];
  let inChain = false;
  for (const raw of ruleset.split('\n')) {
    const line = raw.trim();
    if (inChain) {
      if (line === '}') inChain = false;
      else if (line) out.push(line);
    } else if (line === `chain sc-${id} {`) {
      inChain = true;
      out.push(line);
    } else if (line.includes(`sc-${id}`)) {
      out.push(line);
    }
  }
  return out;
}

/** Ids of the sandboxes that have a chain in any table. */
export function sandboxesWithRules(ruleset = nftRuleset()): string[] {
  return [...ruleset.matchAll(/^\s*chain sc-([a-z0-9]+) \{$/gm)].map((m) => m[1]!);
}

/** Names of the servers' tables. */
export function sandcastleTables(ruleset = nftRuleset()): string[] {
  return [...ruleset.matchAll(/^table ip (sandcastle-[0-9a-f]+) \{$/gm)].map((m) => m[1]!);
}
