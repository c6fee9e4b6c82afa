// Run by test/sdk-envd-calls.test.ts in a child process with only the e2b SDK's settings for the
// hosted product's layout (E2B_API_URL, E2B_DOMAIN, NODE_EXTRA_CA_CERTS; no E2B_SANDBOX_URL):
// the file URLs the SDK signs are fetched with plain fetch, no sandbox header. Prints one JSON
// line per check.
import { Sandbox } from 'e2b';

async function fetched(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text() };
}

function upload(content: string): RequestInit {
  const form = new FormData();
  form.append('file', new Blob([content]), 'ignored.txt');
  return { method: 'POST', body: form };
}

const report = (name: string, value: unknown) => console.log(JSON.stringify({ name, value }));

const a = await Sandbox.create();
const b = await Sandbox.create();
try {
  await a.files.write('hello.txt', 'hello world');
  await a.files.write('/root/secret.txt', 'root only', { user: 'root' });

  const url = await a.downloadUrl('hello.txt', { useSignatureExpiration: 10_000 });
  report('url', url);
  report('download', await fetched(url));
  report('download without expiry', await fetched(await a.downloadUrl('hello.txt')));
  report('download as root', await fetched(await a.downloadUrl('/root/secret.txt', { user: 'root' })));
  report('expired', await fetched(await a.downloadUrl('hello.txt', { useSignatureExpiration: -10_000 })));

  const uploadUrl = await a.uploadUrl('uploaded.txt', { useSignatureExpiration: 10_000 });
  report('upload', await fetched(uploadUrl, upload('sent by plain fetch')));
  report('uploaded content', await a.files.read('uploaded.txt'));
  report('upload expired', await fetched(await a.uploadUrl('late.txt', { useSignatureExpiration: -100_000 }), upload('late')));

  const forged = new URL(url);
  forged.searchParams.set('signature', `v1_${'A'.repeat(43)}`);
  report('forged', await fetched(forged.toString()));
  const otherUser = new URL(url);
  otherUser.searchParams.set('username', 'root');
  report('other user', await fetched(otherUser.toString()));
  const otherSandbox = new URL(url);
  otherSandbox.host = otherSandbox.host.replace(a.sandboxId, b.sandboxId);
  await b.files.write('hello.txt', 'hello from b');
  report('other sandbox', await fetched(otherSandbox.toString()));
  const later = new URL(url);
  later.searchParams.set('signature_expiration', String(Number(later.searchParams.get('signature_expiration')) + 3600));
  report('extended expiry', await fetched(later.toString()));
} finally {
  await Promise.all([a.kill(), b.kill()]);
}
