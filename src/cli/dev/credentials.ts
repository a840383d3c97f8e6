/**
 * What `kre dev` makes once and keeps in its state dir, readable by its owner only, so that its
 * clients keep working across restarts: the monitor's and the manager's tokens, and the manager's
 * serving certificate (self-signed: the client configuration names it as the CA to trust).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedCertificate } from '../../kube/tls.ts';

/** A token kept in `<stateDir>/<file>`: read when it is there, else made and written (0600). */
export function keptToken(stateDir: string, file: string): { token: string; path: string } {
  const path = join(stateDir, file);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (token) return { token, path };
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return { token, path };
}

export interface KeptCertificate {
  certFile: string;
  keyFile: string;
}

/** The manager's certificate and key in `<stateDir>/manager-tls/`, made on first use for localhost and the loopback addresses. */
export async function managerCertificate(stateDir: string): Promise<KeptCertificate> {
  const dir = join(stateDir, 'manager-tls');
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = await selfSignedCertificate(['localhost', '127.0.0.1', '::1'], 'kre-manager');
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  writeFileSync(certFile, pair.cert, { mode: 0o600 });
  return { certFile, keyFile };
}
