// The certificate the public HTTPS listener presents for `*.{domain}`: the configured files, or
// else a local CA and a wildcard certificate it signed, made in `<dataDir>/tls` on the first start
// and reused afterwards (a new leaf when the domain changes or it nears expiry; the CA stays, so
// clients that trust it keep working). Users trust the CA with NODE_EXTRA_CA_CERTS=<dataDir>/tls/ca.pem.
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, dataFiles } from '../config.js';

x509.cryptoProvider.set(webcrypto as Crypto);

const day = 24 * 3600 * 1000;
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Leaves live 397 days, the most browsers accept; a new one is made 30 days before the end. */
const leafDays = 397;
const renewDays = 30;

export interface TlsMaterial {
  key: string;
  /** Leaf certificate followed by the CA that signed it. */
  cert: string;
}

export function tlsDir(config: Config): string {
  return dataFiles(config.dataDir).tls;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(pem)[0]!, algorithm, true, ['sign']);
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

async function makeCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Sandcastle local CA, O=Sandcastle',
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 10 * 365 * day),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeFile(path.join(dir, 'ca-key.pem'), await exportKey(keys.privateKey), { mode: 0o600 });
  await writeFile(path.join(dir, 'ca.pem'), cert.toString('pem') + '\n', { mode: 0o644 });
  return { cert, key: keys.privateKey };
}

async function loadCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const [certPem, keyPem] = await Promise.all([readFile(path.join(dir, 'ca.pem'), 'utf8'), readFile(path.join(dir, 'ca-key.pem'), 'utf8')]);
  return { cert: new x509.X509Certificate(certPem), key: await importKey(keyPem) };
}

async function makeLeaf(domain: string, ca: { cert: x509.X509Certificate; key: CryptoKey }): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=*.${domain}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + leafDays * day),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: `*.${domain}` },
        { type: 'dns', value: domain },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString('pem') + '\n' + ca.cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

export async function loadTlsMaterial(config: Config): Promise<TlsMaterial> {
  if (config.tlsCertFile || config.tlsKeyFile) {
    if (!config.tlsCertFile || !config.tlsKeyFile) throw new Error('SANDCASTLE_TLS_CERT and SANDCASTLE_TLS_KEY must be set together');
    const [cert, key] = await Promise.all([readFile(config.tlsCertFile, 'utf8'), readFile(config.tlsKeyFile, 'utf8')]);
    return { cert, key };
  }
  const dir = tlsDir(config);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const ca = existsSync(path.join(dir, 'ca.pem')) ? await loadCa(dir) : await makeCa(dir);
  const certFile = path.join(dir, `wildcard.${config.domain}.pem`);
  const keyFile = path.join(dir, `wildcard.${config.domain}-key.pem`);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const leaf = new x509.X509Certificate(cert);
    if (leaf.notAfter.getTime() - Date.now() > renewDays * day && leaf.issuer === ca.cert.subject) return { cert, key };
  }
  const leaf = await makeLeaf(config.domain, ca);
  await writeFile(keyFile, leaf.key, { mode: 0o600 });
  await writeFile(certFile, leaf.cert, { mode: 0o644 });
  return leaf;
}
