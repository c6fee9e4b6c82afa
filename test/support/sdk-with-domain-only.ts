// Run by test/public-url.test.ts in a child process whose environment has only E2B_DOMAIN,
// E2B_API_KEY and NODE_EXTRA_CA_CERTS, as for the hosted product: the e2b SDK then reaches the
// control plane and volume content at https://api.<domain> and envd at https://49983-<id>.<domain>.
import { Sandbox, Volume } from 'e2b';

const volume = await Volume.create(`domain-only-${Date.now()}`);
await volume.writeFile('/hello.txt', 'through api.<domain>');
const sbx = await Sandbox.create({ volumeMounts: { '/mnt/vol': volume } });
console.log(`listed: ${(await Sandbox.list().nextItems()).some((s) => s.sandboxId === sbx.sandboxId)}`);
console.log(`volume inside: ${(await sbx.commands.run('cat /mnt/vol/hello.txt')).stdout}`);
await sbx.kill();
await Volume.destroy(volume.volumeId);
console.log(`running after kill: ${await sbx.isRunning()}`);
