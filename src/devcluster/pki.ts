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

x509.cryptoProvider.set(webcrypto as any);

type KeyPair = webcrypto.CryptoKeyPair;

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

async function generate(hosts: string[]): Promise<Credentials> {
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + TEN_YEARS_MS);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=kre-devcluster-ca',
    notBefore,
    notAfter,
    keys: caKeys as KeyPair,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create((caKeys as KeyPair).publicKey),
    ],
  });
  const serverKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
  const ips = hosts.filter((h) => /^[0-9.]+$/.test(h) || h.includes(':'));
  const dns = hosts.filter((h) => !ips.includes(h));
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: (caKeys as KeyPair).privateKey,
    publicKey: serverKeys.publicKey,
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
  const serverKeyDer = await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey);
  return {
    caCert: ca.toString('pem') + '\n',
    serverCert: server.toString('pem') + '\n',
    serverKey: toPem(serverKeyDer, 'PRIVATE KEY'),
    token: randomBytes(24).toString('base64url'),
  };
}

/**
 * Loads the credentials from `dir`, or makes and saves them. The serving certificate covers
 * localhost, 127.0.0.1, ::1 and `extraHosts`; new hosts make a new certificate, same CA and token.
 */
export async function loadOrCreateCredentials(dir: string, extraHosts: string[] = []): Promise<Credentials> {
  const pkiDir = join(dir, 'pki');
  const files = { caCert: 'ca.crt', serverCert: 'server.crt', serverKey: 'server.key', token: 'token' } as const;
  const hosts = [...new Set(['localhost', '127.0.0.1', '::1', ...extraHosts.filter((h) => h && h !== '0.0.0.0' && h !== '::')])];
  const hostsFile = join(pkiDir, 'hosts');
  if (Object.values(files).every((f) => existsSync(join(pkiDir, f))) && existsSync(hostsFile)) {
    const saved = readFileSync(hostsFile, 'utf8').split('\n').filter(Boolean);
    if (hosts.every((h) => saved.includes(h))) {
      const read = (f: string) => readFileSync(join(pkiDir, f), 'utf8');
      return { caCert: read(files.caCert), serverCert: read(files.serverCert), serverKey: read(files.serverKey), token: read(files.token).trim() };
    }
  }
  const creds = await generate(hosts);
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  for (const [k, f] of Object.entries(files)) writeFileSync(join(pkiDir, f), creds[k as keyof Credentials], { mode: 0o600 });
  writeFileSync(hostsFile, hosts.join('\n') + '\n');
  return creds;
}
