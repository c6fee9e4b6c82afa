// Run by test/public-url.test.ts in a child process whose environment has only E2B_API_URL,
// E2B_DOMAIN, E2B_API_KEY and NODE_EXTRA_CA_CERTS: the unmodified e2b SDK creates a sandbox with
// `allowPublicTraffic: false` and a Host mask, reaches envd over the public URL without the token,
// and fetches a server in the sandbox without, with a wrong, and with the right token.
import { Sandbox } from 'e2b';

const sbx = await Sandbox.create({ network: { allowPublicTraffic: false, maskRequestHost: 'localhost:${PORT}' } });
try {
  await sbx.files.write('/tmp/host.js', "require('node:http').createServer((q, s) => s.end('host ' + q.headers.host + ' token ' + (q.headers['e2b-traffic-access-token'] ?? 'none'))).listen(8000)");
  await sbx.commands.run('/opt/sandcastle/node /tmp/host.js', { background: true });
  for (let i = 0; i < 100 && !(await sbx.commands.run('curl -s localhost:8000/ || true')).stdout; i++) await new Promise((r) => setTimeout(r, 100));
  const url = `https://${sbx.getHost(8000)}/`;
  const show = async (label: string, headers: Record<string, string>) => {
    const res = await fetch(url, { headers });
    console.log(`${label}: ${res.status} ${await res.text()}`);
  };
  console.log(`token: ${sbx.trafficAccessToken ? 'set' : 'none'}`);
  await show('without', {});
  await show('wrong', { 'e2b-traffic-access-token': 'not-the-token' });
  await show('right', { 'e2b-traffic-access-token': sbx.trafficAccessToken! });
  const info = await Sandbox.getInfo(sbx.sandboxId);
  console.log(`info: ${JSON.stringify({ allowPublicTraffic: info.network?.allowPublicTraffic, maskRequestHost: info.network?.maskRequestHost })}`);
  const again = await Sandbox.connect(sbx.sandboxId);
  console.log(`connect keeps the token: ${again.trafficAccessToken === sbx.trafficAccessToken}`);
} finally {
  await sbx.kill();
}
