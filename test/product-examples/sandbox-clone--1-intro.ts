import { Sandbox } from 'novita-sandbox';

const sandbox = await Sandbox.create();
console.log('Sandbox created', sandbox.sandboxId)

const sbxClones = await Sandbox.clone(sandbox.sandboxId, 
    {
        count: 2,
        strict: false,
        timeoutMs: 100_000
    }
);
console.log('Sandbox clones created', sbxClones.map(sbxClone => sbxClone.sandboxId))

await sandbox.kill()
for (const sbxClone of sbxClones) {
    await sbxClone.kill()
}
