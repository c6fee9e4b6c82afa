// Run by test/public-url.test.ts in a child process whose environment has only NOVITA_API_URL,
// NOVITA_DOMAIN and NODE_EXTRA_CA_CERTS: every envd call goes to https://49983-<id>.<domain>.
import { Sandbox } from 'novita-sandbox';

const sbx = await Sandbox.create();
await sbx.commands.run('python3 -m http.server 3000', { background: true, cwd: '/home/user' });
const res = await fetch(`https://${sbx.getHost(3000)}`);
console.log(`python3 -m http.server 3000: ${(await res.text()).split('\n')[0]}`);
await sbx.files.write('/home/user/note.txt', 'written over https');
console.log(`read back: ${await sbx.files.read('/home/user/note.txt')}`);
await sbx.kill();
console.log(`running after kill: ${await sbx.isRunning()}`);
