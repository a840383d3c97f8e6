/**
 * The devcluster's credentials: a CA it generates, a serving certificate for the addresses it
 * listens on, and a bearer token. They live in the state directory so that a restart serves the
 * same kubeconfig. Node's crypto makes keys but not certificates, hence @peculiar/x509.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export interface Credentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  token: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function serial(): string {
  // A positive serial: clear the top bit.
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

export interface CertificateAuthority {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

/** A new self-signed CA; `commonName` names it in the certificates it signs. */
export async function generateCa(commonName = 'kre-devcluster-ca'): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + TEN_YEARS_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

/** A serving certificate for `hosts` (names and IP addresses), signed by the CA. */
export async function generateServing(ca: CertificateAuthority, hosts: string[], commonName = 'kube-apiserver'): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ips = hosts.filter((h) => /^[0-9.]+$/.test(h) || h.includes(':'));
  const dns = hosts.filter((h) => !ips.includes(h));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + TEN_YEARS_MS),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

export async function exportCa(ca: CertificateAuthority): Promise<{ cert: string; key: string }> {
  return { cert: ca.cert.toString('pem') + '\n', key: toPem(await webcrypto.subtle.exportKey('pkcs8', ca.key), 'PRIVATE KEY') };
}

async function importCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  return { cert: new x509.X509Certificate(certPem), key };
}

/**
 * Loads the credentials from `dir`, or makes and saves them. The serving certificate covers
 * localhost, 127.0.0.1, ::1 and `extraHosts`; a new host gets a new serving certificate from the
 * same CA, and the token stays, so kubeconfigs already written keep working.
 */
export async function loadOrCreateCredentials(dir: string, extraHosts: string[] = []): Promise<Credentials> {
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const path = (f: string) => join(pkiDir, f);
  const read = (f: string) => readFileSync(path(f), 'utf8');
  const write = (f: string, content: string) => writeFileSync(path(f), content, { mode: 0o600 });
  const hosts = [...new Set(['localhost', '127.0.0.1', '::1', ...extraHosts.filter((h) => h && h !== '0.0.0.0' && h !== '::')])];

  let ca: { cert: string; key: string };
  if (existsSync(path('ca.crt')) && existsSync(path('ca.key'))) {
    ca = { cert: read('ca.crt'), key: read('ca.key') };
  } else {
    ca = await exportCa(await generateCa());
    write('ca.key', ca.key);
    write('ca.crt', ca.cert);
    // A new CA invalidates any serving certificate made by an old one.
    for (const f of ['server.crt', 'server.key', 'hosts']) if (existsSync(path(f))) writeFileSync(path(f), '', { mode: 0o600 });
  }
  if (!existsSync(path('token')) || read('token').trim() === '') write('token', randomBytes(24).toString('base64url') + '\n');

  const saved = existsSync(path('hosts')) ? read('hosts').split('\n').filter(Boolean) : [];
  const covered = hosts.every((h) => saved.includes(h)) && existsSync(path('server.crt')) && read('server.crt') !== '';
  if (!covered) {
    const all = [...new Set([...saved, ...hosts])];
    const serving = await generateServing(await importCa(ca.cert, ca.key), all);
    write('server.key', serving.key);
    write('server.crt', serving.cert);
    writeFileSync(path('hosts'), all.join('\n') + '\n', { mode: 0o600 });
  }
  return { caCert: ca.cert, serverCert: read('server.crt'), serverKey: read('server.key'), token: read('token').trim() };
}
