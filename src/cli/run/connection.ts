/**
 * The connection of a client command that runs: from flags, then `KRE_MANAGER_*` environment
 * variables, then `kre dev`'s client configuration in its state dir; and the exit status of its
 * failures (2 for what the user typed, 1 for what went wrong).
 */
import { readFileSync } from 'node:fs';
import { Connection, InputError, type ConnectionOptions, type TlsOptions } from '../../client/index.ts';
import type { ConnectionFlags } from '../client-options.ts';
import { ClientConfigError, clientConfigPath, defaultStateDir, readClientConfig, type ClientConfig } from '../client-config.ts';
import { untilSignal } from '../signals.ts';
import { UsageError } from '../usage.ts';

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
