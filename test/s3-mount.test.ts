// Product page "Mount object storage bucket in sandbox": a template from the page's novita.Dockerfile
// (FROM ubuntu:latest, apt-get install -y s3fs), built with `sandcastle template create`, and the
// page's JavaScript example, run unmodified, mounting a bucket with s3fs and writing and reading a
// file through it. Amazon S3 is s3rver on a fake internet host that the sandboxes' DNS gives every
// *.amazonaws.com name, behind a certificate of a CA the test makes and the template trusts;
// `ubuntu:latest` is the base template's Debian served by a loopback Docker Hub mirror; apt reaches
// Debian's archive through DNS forwarded to the host's resolvers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CommandExitError, Sandbox } from 'novita-sandbox';
import { installDir, loadConfig } from '../src/config.js';
import { type FakeInternet, startFakeInternet } from './support/fake-internet.js';
import { baseRootfsDir, pushRootfs, startRegistry, type TestRegistry } from './support/oci-registry.js';
import { s3AccessKeyId, type S3Server, startS3Server } from './support/s3-server.js';
import { disposeServer, type ServerProcess, startServerProcess, useServer } from './support/server-process.js';
import { makeTestCa, type TestCa } from './support/test-ca.js';

const run = promisify(execFile);
const bucket = 'sandcastle-bucket';
const credentials = { AWS_ACCESS_KEY_ID: s3AccessKeyId, AWS_SECRET_ACCESS_KEY: 'sandcastle-test-secret' };
// The page's Dockerfile as written, then the test CA into the system's trust store (s3fs's curl
// reads it).
const dockerfile = `# Compatible with Debian-based distributions
FROM ubuntu:latest

# Critical: s3fs versions below 1.93 contain known mounting issues. Ensure version compatibility.
RUN DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y s3fs

COPY sandcastle-test-ca.crt /usr/local/share/ca-certificates/sandcastle-test-ca.crt
RUN update-ca-certificates
`;

let internet: FakeInternet | undefined;
let ca: TestCa | undefined;
let s3: S3Server | undefined;
let mirror: TestRegistry | undefined;
let server: ServerProcess | undefined;
let context: string | undefined;
let templateId: string | undefined;

before(async () => {
  // Its own 198.18.7.0/24, apart from network.test.ts's fake internet.
  internet = await startFakeInternet({ net: 7, dns: { domains: ['amazonaws.com'], upstream: loadConfig().dnsServers } });
  ca = await makeTestCa();
  const tls = await ca.issue('s3', ['s3.amazonaws.com', '*.s3.amazonaws.com']);
  s3 = await startS3Server({ namespace: internet.namespace, address: internet.address, tls, caCert: ca.cert, buckets: [bucket] });
  mirror = await startRegistry();
  // Docker Hub's official images are `library/<name>` on a mirror.
  await pushRootfs(mirror, 'library/ubuntu:latest', baseRootfsDir());
  server = await startServerProcess({
    env: {
      SANDCASTLE_REGISTRY_MIRRORS: mirror.host,
      SANDCASTLE_INSECURE_REGISTRIES: mirror.host,
      SANDCASTLE_DNS_SERVERS: internet.address,
      // FUSE in sandboxes needs their own user namespace.
      SANDCASTLE_USERNS: '1',
    },
  });
  useServer(server);
  context = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-s3-template-'));
  await writeFile(path.join(context, 'novita.Dockerfile'), dockerfile);
  await copyFile(ca.cert, path.join(context, 'sandcastle-test-ca.crt'));
});

after(async () => {
  if (server) await disposeServer(server);
  await Promise.all([mirror?.stop(), s3?.close(), context && rm(context, { recursive: true, force: true })]);
  await Promise.all([internet?.close(), ca?.remove()]);
});

/** The environment without the variables the CLIs and SDKs read, then `extra`. */
function envWith(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(NOVITA|E2B|AWS)_/.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** Runs `cmd` in the sandbox; a failure says which command and what it printed. */
async function sh(sbx: Sandbox, cmd: string): Promise<string> {
  try {
    return (await sbx.commands.run(cmd)).stdout;
  } catch (e) {
    if (!(e instanceof CommandExitError)) throw e;
    throw new Error(`\`${cmd}\` exited with ${e.exitCode}: ${e.stderr}${e.stdout}\n--- S3 requests ---\n${s3!.log()}`);
  }
}

async function runningIds(): Promise<string[]> {
  const items = await Sandbox.list({ query: { state: ['running'] } }).nextItems();
  return items.map((s) => s.sandboxId);
}

describe('product page "Mount object storage bucket in sandbox"', () => {
  it('the page\'s novita.Dockerfile builds with `sandcastle template create`', { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    const env = envWith({ NOVITA_API_URL: server!.url, NOVITA_API_KEY: server!.apiKey });
    const cli = path.join(installDir, 'src/cli/main.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, 'template', 'create', 's3fs-mount', '-p', context!], {
      cwd: installDir,
      env,
      timeout: 540_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`template create failed: ${e.message}\n--- stdout ---\n${e.stdout}\n--- stderr ---\n${e.stderr}`);
    });
    t.diagnostic(`build: ${Date.now() - started} ms`);
    assert.match(stdout, /from novita\.Dockerfile in /);
    templateId = /Template s3fs-mount is ready: id (\w+)/.exec(stdout)?.[1];
    assert.ok(templateId, stdout);
  });

  it('its sandboxes reach the bucket by its AWS name and trust the test CA', async () => {
    assert.ok(templateId, 'the template was built');
    const sbx = await Sandbox.create(templateId!);
    try {
      assert.match(await sh(sbx, `getent hosts ${bucket}.s3.amazonaws.com`), new RegExp(`^${internet!.address.replaceAll('.', '\\.')}\\s+${bucket}\\.s3\\.amazonaws\\.com\n$`));
      assert.match(await sh(sbx, `curl -sS https://${bucket}.s3.amazonaws.com/`), new RegExp(`<ListBucketResult [^>]*><Name>${bucket}</Name>`));
    } finally {
      await sbx.kill();
    }
  });

  it('the page\'s JavaScript example mounts the bucket and writes and reads a file through it', { timeout: 180_000 }, async (t) => {
    assert.ok(templateId, 'the template was built');
    const started = Date.now();
    const example = path.join(installDir, 'test/product-examples/mount-object-storage-bucket-in-sandbox--1-amazon-s3.ts');
    const env = envWith({
      NOVITA_API_URL: server!.url,
      NOVITA_SANDBOX_URL: server!.url,
      NOVITA_API_KEY: server!.apiKey,
      NOVITA_TEMPLATE_ID: templateId,
      AWS_BUCKET_NAME: bucket,
      ...credentials,
    });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', example], { cwd: installDir, env, timeout: 150_000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`the example failed: ${e.message}\n--- stdout ---\n${e.stdout}\n--- stderr ---\n${e.stderr}\n--- S3 requests ---\n${s3!.log()}`);
      },
    );
    t.diagnostic(`example (create, mount, write, read, kill): ${Date.now() - started} ms`);
    assert.equal(stdout, 'test-file-content\n');
    // Written through to the bucket, not only to s3fs's cache.
    assert.equal(await s3!.getObject(bucket, 'test-file.txt'), 'test-file-content');
    assert.deepEqual(await runningIds(), []);
  });

  it('a mount shows the objects already in the bucket, and files written in the sandbox land there', { timeout: 180_000 }, async (t) => {
    assert.ok(templateId, 'the template was built');
    await s3!.putObject(bucket, 'from-outside.txt', 'put by the bucket owner\n');
    const sbx = await Sandbox.create(templateId!);
    try {
      t.diagnostic((await sh(sbx, 's3fs --version')).split('\n')[0]!);
      await sh(sbx, `echo '${credentials.AWS_ACCESS_KEY_ID}:${credentials.AWS_SECRET_ACCESS_KEY}' | sudo tee /etc/passwd-s3fs >/dev/null && sudo chmod 600 /etc/passwd-s3fs && sudo mkdir -p /mnt/b`);
      const started = Date.now();
      await sh(sbx, `sudo s3fs ${bucket} /mnt/b -o allow_other,endpoint=us-east-1`);
      // An object made outside s3fs has no x-amz-meta-mode: s3fs shows it as root's, not readable by
      // others (mount with umask= or uid= for that).
      const read = await sh(sbx, 'sudo cat /mnt/b/from-outside.txt');
      const list = await sh(sbx, 'ls /mnt/b');
      await sh(sbx, 'echo "written in the sandbox" > /mnt/b/from-inside.txt');
      t.diagnostic(`mount, read, list, write: ${Date.now() - started} ms`);
      assert.equal(read, 'put by the bucket owner\n');
      assert.ok(list.split('\n').includes('from-outside.txt'), list);
      assert.match(await sh(sbx, 'grep " /mnt/b " /proc/mounts'), /^s3fs \/mnt\/b fuse\.s3fs /);
      await sh(sbx, 'sudo umount /mnt/b');
      assert.equal(await s3!.getObject(bucket, 'from-inside.txt'), 'written in the sandbox\n');
    } finally {
      await sbx.kill();
    }
  });
});
