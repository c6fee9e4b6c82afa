// Outbound networking of sandboxes, enforced on the host: one nftables table of the server's own
// (`sandcastle-<hash of its data directory>`, commands from egress-rules.ts) with a chain per
// sandbox (`sc-<id>`) reached through one verdict map, and NAT for the server's range. Changes of
// many sandboxes at once go to the kernel together, as one atomic nft transaction; the table is
// made with the first sandbox and removed with the last. Domain names in allowOut are resolved
// once, when the rules are set, through the same name servers the sandbox uses; their later
// changes of address are not followed, and an address in a refused range stays refused.
import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import path from 'node:path';
import type { Config } from '../../config.js';
import { errors } from '../../errors.js';
import { BatchQueue } from '../batch-queue.js';
import { chainsOfTable, type EgressTable, parseDenyEntry, parseRuleEntry, type ResolvedEgress, sandboxRemovalScript, sandboxScript, tableScript } from './egress-rules.js';
import { NftShell } from './nft-shell.js';
import { runCommand } from '../run-command.js';
import type { EgressPolicy, NetworkLease } from '../runtime.js';

export const openEgress: EgressPolicy = { allowInternetAccess: true, allowOut: [], denyOut: [] };

const chainPrefix = 'sc-';

export function egressChain(sandboxId: string): string {
  return `${chainPrefix}${sandboxId}`;
}

/** The table of the server whose data directory this is. */
export function egressTableName(dataDir: string): string {
  return `sandcastle-${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 8)}`;
}

type Resolve = (name: string) => Promise<string[]>;

function resolverFor(servers: string[]): Resolve {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return (name) => resolver.resolve4(name);
}

/** Checks every entry and resolves the names; throws a 400-class error naming the bad entry. */
export async function resolveEgress(policy: EgressPolicy, dnsServers: string[], resolve: Resolve = resolverFor(dnsServers)): Promise<ResolvedEgress> {
  const allow: string[] = [];
  let named = false;
  for (const entry of policy.allowOut) {
    const target = parseRuleEntry('allowOut', entry);
    if (target.kind === 'cidr') {
      allow.push(target.cidr);
      continue;
    }
    named = true;
    const addresses = await resolve(target.name).catch((err: NodeJS.ErrnoException) => {
      throw errors.invalidNetworkRule('allowOut', entry, `could not be resolved (${err.code ?? err.message})`);
    });
    allow.push(...addresses.map((a) => `${a}/32`));
  }
  const deny = policy.denyOut.map(parseDenyEntry);
  return { internet: policy.allowInternetAccess, allow, deny, dns: named };
}

/** Runs `nft` with these arguments and standard input; resolves to its output. */
export type Nft = (args: string[], input?: string) => Promise<string>;

const shell = new NftShell();

/** Transactions (`-f -`) go through the long-lived shell, reads through an `nft` of their own. */
const runNft: Nft = async (args, input) => {
  if (args.join(' ') === '-f -' && input !== undefined) {
    await shell.run(input.split('\n'));
    return '';
  }
  return runCommand('nft', args, input === undefined ? {} : { input });
};

type Change = { kind: 'set'; sandboxId: string; script: string[] } | { kind: 'remove'; sandboxId: string; hostVeth: string };

/** What the kernel has of the table, as this process last wrote or read it. */
interface TableState {
  exists: boolean;
  /** Its base chains were written by this process (so they match this configuration). */
  current: boolean;
  /** Sandboxes with a chain in it. */
  sandboxes: Set<string>;
}

export class Egress {
  private readonly table: EgressTable;
  private readonly queue = new BatchQueue<Change>((changes) => this.apply(changes));
  /** Unknown until read, and again after a failed transaction. */
  private state: TableState | undefined;

  constructor(private readonly config: Pick<Config, 'dataDir' | 'networkCidr' | 'dnsServers' | 'egressAllowPrivate'>, private readonly nft: Nft = runNft) {
    const name = egressTableName(config.dataDir);
    // A comment is a quoted string: keep quotes and line breaks of odd folder names out of it.
    const comment = `Sandcastle sandboxes of ${path.resolve(config.dataDir)}`.replace(/["\\\n]/g, '?');
    this.table = { name, comment, networkCidr: config.networkCidr, allowPrivate: config.egressAllowPrivate, resolvers: config.dnsServers };
  }

  /** Gives the sandbox the rules of `policy`, replacing the ones it had, atomically. */
  async set(sandboxId: string, hostVeth: string, lease: NetworkLease, policy: EgressPolicy): Promise<void> {
    const resolved = await resolveEgress(policy, this.config.dnsServers);
    const script = sandboxScript(this.table, { chain: egressChain(sandboxId), hostVeth, sandboxAddress: lease.sandboxAddress }, resolved);
    await this.queue.submit({ kind: 'set', sandboxId, script });
  }

  /** Removes the sandbox's chain and its entry in the map; idempotent. */
  remove(sandboxId: string, hostVeth: string): Promise<void> {
    return this.queue.submit({ kind: 'remove', sandboxId, hostVeth });
  }

  /** Sandboxes that have rules in the table (recovery removes those it does not know). */
  async sandboxIds(): Promise<string[]> {
    return [...(this.state ?? (await this.read())).sandboxes];
  }

  private async read(): Promise<TableState> {
    const { exists, chains } = chainsOfTable(await this.nft(['-j', 'list', 'chains', 'ip']), this.table.name, (c) => c.startsWith(chainPrefix));
    return { exists, current: false, sandboxes: new Set(chains.map((c) => c.slice(chainPrefix.length))) };
  }

  /** All changes in one transaction; when that fails, each alone, so one bad change (or a table
   *  changed behind this process's back) does not fail the others. */
  private async apply(changes: Change[]): Promise<(Error | undefined)[]> {
    const outcome = (p: Promise<void>) => p.then(() => undefined, (err: Error) => err);
    if (changes.length > 1) {
      const err = await outcome(this.commit(changes));
      if (!err) return changes.map(() => undefined);
    }
    const outcomes: (Error | undefined)[] = [];
    for (const change of changes) outcomes.push(await outcome(this.commit([change])));
    return outcomes;
  }

  private async commit(changes: Change[]): Promise<void> {
    const before = this.state ?? (await this.read());
    const sandboxes = new Set(before.sandboxes);
    const script: string[] = [];
    for (const change of changes) {
      if (change.kind === 'set') {
        script.push(...change.script);
        sandboxes.add(change.sandboxId);
      } else if (sandboxes.delete(change.sandboxId)) {
        script.push(...sandboxRemovalScript(this.table, { chain: egressChain(change.sandboxId), hostVeth: change.hostVeth }));
      }
    }
    let { exists, current } = before;
    if (changes.some((c) => c.kind === 'set') && !current) {
      script.unshift(...tableScript(this.table));
      exists = current = true;
    }
    // The last sandbox takes the table with it: no hooks are left behind for a server that has
    // nothing to filter (and none at all once it is gone).
    if (sandboxes.size === 0 && exists) {
      script.push(`delete table ip ${this.table.name}`);
      exists = current = false;
    }
    if (script.length === 0) {
      this.state = before;
      return;
    }
    try {
      await this.nft(['-f', '-'], script.join('\n') + '\n');
    } catch (err) {
      this.state = undefined;
      throw err;
    }
    this.state = { exists, current, sandboxes };
  }
}
