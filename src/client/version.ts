/**
 * Versions through the manager. The manager keeps no copy of a package: `Start` carries the whole
 * version, so creating and starting both send the package again; the other calls name the version.
 */
import type { Request, Response, Version, VersionStatusRequest, VersionStatusResponse } from '../gen/version/version.ts';
import { InputError, type Connection } from './connection.ts';
import type { KrtPackage } from './krt/package.ts';
import { versionMessage, type ConfigValue } from './krt/version.ts';
import { runtimeNamespace } from './runtime.ts';

/** Long enough for the manager's own wait (300 s by default) on Stop and Publish. */
export const WAITING_CALL_MS = 330_000;

const ref = (runtime: string, name: string): Version => ({
  id: '',
  name,
  namespace: runtimeNamespace(runtime),
  entrypoint: undefined,
  config: [],
  workflows: [],
  mongoUri: '',
  mongoDbName: '',
});

/** Config values whose keys the package does not declare, as a list of the keys. */
export function undeclaredKeys(pkg: KrtPackage, values: ConfigValue[]): string[] {
  const declared = new Set(pkg.manifest.config.variables);
  return values.map((v) => v.key).filter((k) => !declared.has(k));
}

/** Sends the package's version to the runtime with state Started (creating it, or updating it). */
export async function startVersion(conn: Connection, runtime: string, pkg: KrtPackage, values: ConfigValue[] = []): Promise<{ version: Version; message: string }> {
  const unknown = undeclaredKeys(pkg, values);
  if (unknown.length > 0) {
    throw new InputError(`--config: ${pkg.source}: krt.yml declares no variable ${unknown.join(', ')} (config.variables: ${pkg.manifest.config.variables.join(', ') || 'none'})`, '--config');
  }
  const version = versionMessage(pkg.manifest, pkg.manifestText, runtimeNamespace(runtime), values);
  const res = await conn.unary<Request, Response>(conn.version, 'start', { version });
  return { version, message: res.message };
}

export type VersionAction = 'stop' | 'publish' | 'unpublish';

/** Stop, publish or unpublish; the manager answers once the operator has done it. */
export async function versionAction(conn: Connection, action: VersionAction, runtime: string, name: string, timeoutMs = WAITING_CALL_MS): Promise<string> {
  const res = await conn.unary<Request, Response>(conn.version, action, { version: ref(runtime, name) }, timeoutMs);
  return res.message;
}

/** Sets the version's configuration to exactly `values` (the manager replaces the whole list). */
export async function updateConfig(conn: Connection, runtime: string, name: string, values: ConfigValue[]): Promise<string> {
  const res = await conn.unary<Request, Response>(conn.version, 'updateConfig', { version: { ...ref(runtime, name), config: values } });
  return res.message;
}

export async function versionStatus(conn: Connection, runtime: string, name: string): Promise<VersionStatusResponse> {
  return conn.unary<VersionStatusRequest, VersionStatusResponse>(conn.version, 'versionStatus', { name, namespace: runtimeNamespace(runtime) });
}

/** Each status of the version as it changes, the current one first, until `signal` aborts or `onStatus` says stop. */
export function watchVersionStatus(conn: Connection, runtime: string, name: string, onStatus: (s: VersionStatusResponse) => void | 'stop', signal?: AbortSignal): Promise<void> {
  return conn.stream<VersionStatusRequest, VersionStatusResponse>(conn.version, 'watchVersionStatus', { name, namespace: runtimeNamespace(runtime) }, onStatus, signal);
}

/** `KEY=VALUE` arguments as config values; the error names the argument at fault. */
export function parseAssignments(args: string[]): ConfigValue[] {
  const seen = new Set<string>();
  return args.map((a, i) => {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new InputError(`argument ${i + 1} "${a.slice(0, 80)}": expected KEY=VALUE`);
    const key = a.slice(0, eq);
    if (seen.has(key)) throw new InputError(`argument ${i + 1}: ${key} is set twice`);
    seen.add(key);
    return { key, value: a.slice(eq + 1) };
  });
}
