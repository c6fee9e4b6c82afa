// A certificate authority made by a test with openssl, and server certificates it signs: for
// fake hosts of real names (s3.amazonaws.com) that sandboxes trust once the CA is in their store.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerCertificate {
  /** PEM files. */
  key: string;
  cert: string;
}

export interface TestCa {
  /** The CA's certificate (PEM), the file a client or a trust store takes. */
  cert: string;
  /** A certificate for these DNS names (wildcards allowed), valid for two days. */
  issue(name: string, dnsNames: string[]): Promise<ServerCertificate>;
  remove(): Promise<void>;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (e) {
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
}

export async function makeTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-test-ca-'));
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.pem');
  try {
    await openssl([
      'req', '-x509', ...ecKey, '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=Sandcastle test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    cert: caCert,
    async issue(name, dnsNames) {
      const key = path.join(dir, `${name}.key`);
      const cert = path.join(dir, `${name}.pem`);
      await openssl([
        'req', '-x509', ...ecKey, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${dnsNames[0]}`, '-CA', caCert, '-CAkey', caKey,
        '-addext', `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`,
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
      ]);
      return { key, cert };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
