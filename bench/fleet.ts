// Many sandboxes at once, for the burst and soak runs: fill up to a count a few at a time, and
// kill everything the server lists, so a failed run leaves nothing running.
import { Sandbox } from 'novita-sandbox';

/** Creates `count` idle sandboxes, `parallel` at a time (the goal is many live sandboxes, not a
 *  create benchmark). On a failure kills the ones made so far and rethrows. */
export async function createMany(count: number, timeoutMs: number, parallel = 10): Promise<Sandbox[]> {
  const made: Sandbox[] = [];
  try {
    while (made.length < count) {
      const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - made.length) }, () => Sandbox.create({ timeoutMs })));
      made.push(...batch);
    }
    return made;
  } catch (err) {
    await Promise.allSettled(made.map((s) => s.kill()));
    throw new Error(`creating ${count} sandboxes failed after ${made.length}: ${(err as Error).message}`, { cause: err });
  }
}

export async function listSandboxIds(): Promise<string[]> {
  const ids: string[] = [];
  const pages = Sandbox.list();
  while (pages.hasNext) ids.push(...(await pages.nextItems()).map((s) => s.sandboxId));
  return ids;
}

/** Kills every sandbox the server lists, all at once; resolves to how many it killed. */
export async function killAll(): Promise<number> {
  const ids = await listSandboxIds();
  await Promise.allSettled(ids.map((id) => Sandbox.kill(id)));
  return ids.length;
}
