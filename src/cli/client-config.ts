/**
 * The client configuration `kre dev` leaves in its state dir (`<stateDir>/client.yaml`, mode 0600)
 * so that the `kre` client commands reach its manager without flags: the manager's gRPC address,
 * the bearer token, and how to check its TLS certificate. The token is written into the file itself,
 * which is why the file is readable by its owner only (as a kubeconfig holding a token is).
 *
 *     manager:
 *       address: localhost:50051
 *       token: 3q2-...
 *       tls:                       # absent: plaintext gRPC
 *         caFile: /home/me/.kre/dev/manager-tls/ca.crt   # absent: the system's CAs
 *     monitor:                     # optional: the monitor's HTTP API
 *       url: http://127.0.0.1:8003
 *       token: ...
 *     prometheus:                  # optional: the Prometheus kre dev runs
 *       url: http://127.0.0.1:9090
 *     kubeconfig: /home/me/.kre/dev/kubeconfig
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { defaultStateDir } from './state-dir.ts';

const hostPort = z.string().regex(/^(?:\[[^\]]+\]|[^:[\]]*):\d{1,5}$/, 'expected HOST:PORT');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(?:\/\S*)?$/, 'expected an http:// or https:// URL');

export const ClientConfigSchema = z.strictObject({
  manager: z.strictObject({
    /** The manager's gRPC API, HOST:PORT. */
    address: hostPort,
    /** The bearer token the manager checks on every call. */
    token: z.string().min(1),
    /** gRPC over TLS; plaintext when absent. */
    tls: z
      .strictObject({
        /** The CA (PEM) that signed the manager's certificate; the system's CAs when absent. */
        caFile: z.string().min(1).optional(),
        /** The name to check in the certificate, when it is not the address' host. */
        serverName: z.string().min(1).optional(),
      })
      .optional(),
  }),
  monitor: z.strictObject({ url: httpUrl, token: z.string().min(1) }).optional(),
  prometheus: z.strictObject({ url: httpUrl }).optional(),
  kubeconfig: z.string().min(1).optional(),
});

export type ClientConfig = z.infer<typeof ClientConfigSchema>;

export const CLIENT_CONFIG_FILE = 'client.yaml';

/** A client configuration that is missing or wrong: the message names the file and the field. */
export class ClientConfigError extends Error {
  override name = 'ClientConfigError';
}

/** `kre dev`'s state dir: KRE_DEV_STATE_DIR, else `~/.kre/dev`. */
export { defaultStateDir };

/** Where the client configuration of the state dir is (the default state dir when none is given). */
export function clientConfigPath(stateDir: string = defaultStateDir()): string {
  return join(stateDir, CLIENT_CONFIG_FILE);
}

export function parseClientConfig(raw: unknown, where: string): ClientConfig {
  const r = ClientConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map(String).join('.') || '(top level)';
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  throw new ClientConfigError(`invalid client configuration ${where}: ${field}: ${message}`);
}

/**
 * Reads a client configuration. A missing file says how to get one (run `kre dev`), a file that
 * is not valid names the field.
 */
export function readClientConfig(path: string = clientConfigPath()): ClientConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ClientConfigError(`no client configuration at ${path}: start \`kre dev\` (or set KRE_DEV_STATE_DIR to its --state-dir), or give the manager's address and token`);
    }
    throw new ClientConfigError(`cannot read the client configuration ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ClientConfigError(`the client configuration ${path} is not YAML: ${(err as Error).message}`);
  }
  return parseClientConfig(parsed, path);
}

/**
 * Writes a client configuration readable by its owner only. It goes to a temporary file first and
 * is renamed into place, so a client reading at that moment sees the old file or the new one.
 */
export function writeClientConfig(config: ClientConfig, path: string = clientConfigPath()): void {
  const valid = parseClientConfig(config, 'to write');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, '# Written by `kre dev`: how the kre client commands reach its manager. Holds a token: keep it private.\n' + stringifyYaml(valid), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
