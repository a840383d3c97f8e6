/**
 * What the client commands (`kre runtime|version …`) share: where the manager is and how to talk
 * to it — flags, then `KRE_MANAGER_*` environment variables, then `kre dev`'s client configuration
 * in its state dir — the output format, and the exit status of their failures (2 for what the user
 * typed, 1 for what went wrong).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Connection, InputError, type ConnectionOptions, type TlsOptions } from '../client/index.ts';
import { ClientConfigError, clientConfigPath, defaultStateDir, readClientConfig, type ClientConfig } from './client-config.ts';
import { UsageError } from './usage.ts';
import { untilSignal } from './signals.ts';

export interface ConnectionFlags {
  address?: string;
  tokenFile?: string;
  tls?: boolean;
  caFile?: string;
  serverName?: string;
  insecureSkipTlsVerify?: boolean;
  stateDir?: string;
  timeout?: string;
  output: 'text' | 'json';
}

/** Adds the connection and output options to a client command. */
export function clientCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--address <host:port>', "the manager's gRPC address (env KRE_MANAGER_ADDRESS; default: kre dev's client configuration)")
    .option('--token-file <path>', "a file holding the manager's token (env KRE_MANAGER_TOKEN or KRE_MANAGER_TOKEN_FILE)")
    .option('--tls', 'gRPC over TLS, trusting the system CAs (env KRE_MANAGER_TLS=1)')
    .option('--ca-file <path>', "TLS, trusting this CA's certificates (PEM; env KRE_MANAGER_CA_FILE)")
    .option('--server-name <name>', 'TLS: the name the certificate must hold, when it is not the address\' host (env KRE_MANAGER_SERVER_NAME)')
    .option('--insecure-skip-tls-verify', 'TLS without checking the certificate: for a manager with a self-signed one only')
    .option('--state-dir <dir>', "kre dev's state dir, whose client.yaml names the manager (env KRE_DEV_STATE_DIR; default ~/.kre/dev)")
    .option('--timeout <duration>', 'the longest a call or a wait may take: 30s, 5m (default: 30s for a call, 5m for a wait)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}

const TRUE = /^(1|true|yes|on)$/i;

function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!text) throw new UsageError(`${what}: ${path} is empty`);
  return text;
}

function readCa(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration flag in milliseconds: `30`, `30s`, `5m`, `1h`. */
export function parseDuration(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  const ms = m ? Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 's'] : NaN;
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${flag}: "${value}" is not a duration: 30s, 5m, 1h`);
  return ms;
}

/**
 * The connection from flags, environment and client configuration, each field from the first
 * that gives it. TLS follows the address: set by flags or environment when either asks for it,
 * else the client configuration's when the address came from there.
 */
export function connectionOptions(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  let config: ClientConfig | undefined;
  let configError: Error | undefined;
  const configPath = clientConfigPath(flags.stateDir ?? defaultStateDir(env));
  const fromConfig = (): ClientConfig => {
    if (config) return config;
    if (configError) throw configError;
    try {
      config = readClientConfig(configPath);
      return config;
    } catch (err) {
      configError = err instanceof ClientConfigError ? new UsageError(err.message) : (err as Error);
      throw configError;
    }
  };
  const flagAddress = flags.address ?? (env.KRE_MANAGER_ADDRESS || undefined);
  const address = flagAddress ?? fromConfig().manager.address;
  let token: string;
  if (flags.tokenFile) token = readSecretFile(flags.tokenFile, '--token-file');
  else if (env.KRE_MANAGER_TOKEN?.trim()) token = env.KRE_MANAGER_TOKEN.trim();
  else if (env.KRE_MANAGER_TOKEN_FILE) token = readSecretFile(env.KRE_MANAGER_TOKEN_FILE, 'KRE_MANAGER_TOKEN_FILE');
  else {
    try {
      token = fromConfig().manager.token;
    } catch (err) {
      throw new UsageError(`no token for the manager: give --token-file or KRE_MANAGER_TOKEN (${(err as Error).message})`);
    }
  }
  const caFile = flags.caFile ?? (env.KRE_MANAGER_CA_FILE || undefined);
  const serverName = flags.serverName ?? (env.KRE_MANAGER_SERVER_NAME || undefined);
  const wantTls = flags.tls || TRUE.test(env.KRE_MANAGER_TLS ?? '') || caFile !== undefined || serverName !== undefined || flags.insecureSkipTlsVerify === true;
  let tls: TlsOptions | undefined;
  if (wantTls) {
    tls = {
      ...(caFile ? { ca: readCa(caFile, '--ca-file') } : {}),
      ...(serverName ? { serverName } : {}),
      ...(flags.insecureSkipTlsVerify ? { insecureSkipVerify: true } : {}),
    };
  } else if (flagAddress === undefined && config?.manager.tls) {
    const t = config.manager.tls;
    tls = { ...(t.caFile ? { ca: readCa(t.caFile, `${configPath}: manager.tls.caFile`) } : {}), ...(t.serverName ? { serverName: t.serverName } : {}) };
  }
  return { address, token, ...(tls ? { tls } : {}), timeoutMs: parseDuration('--timeout', flags.timeout, 30_000) };
}

/** Problems in what the user typed exit 2; the rest (the manager's answers, bad packages) exit 1. */
function asCommandError(err: unknown): unknown {
  return err instanceof InputError ? new UsageError(err.message) : err;
}

/** Runs `body` with a connection made from the command's flags, closing it after. */
export async function withConnection<T>(flags: ConnectionFlags, body: (conn: Connection) => Promise<T>): Promise<T> {
  let conn: Connection | undefined;
  try {
    conn = new Connection(connectionOptions(flags));
    return await body(conn);
  } catch (err) {
    throw asCommandError(err);
  } finally {
    conn?.close();
  }
}

/** Runs `body` without a connection, with the same error handling. */
export async function offline<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw asCommandError(err);
  }
}

/** An AbortSignal that aborts on SIGINT or SIGTERM: a `--watch` ends cleanly, status 0. */
export function untilInterrupted(): AbortSignal {
  const ac = new AbortController();
  void untilSignal().then(() => ac.abort());
  return ac.signal;
}

/** Where the commands' output goes: stdout, or what a test running a command in its own process collects. */
export const output = { write: (text: string): void => void process.stdout.write(text) };

export const print = (line = ''): void => output.write(`${line}\n`);

export const printJson = (value: unknown, pretty = true): void => output.write(`${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);

/** Rows as columns padded to the widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}
