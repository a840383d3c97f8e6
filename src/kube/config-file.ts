/**
 * What every part's configuration is made of: the `--config FILE` (a YAML mapping), one zod schema
 * whose first problem becomes a `ConfigError` naming the field, secrets read from files, listen
 * addresses (`HOST:PORT`, one default host) and leader election timings (in seconds, as every
 * duration of the configuration).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid configuration: --config: cannot read ${path}: ${(err as Error).message}`, 'config');
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`invalid configuration: --config: ${path} is not YAML: ${(err as Error).message}`, 'config');
  }
  if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new ConfigError(`invalid configuration: ${path} is not a mapping`, 'config');
  return (parsed ?? {}) as Record<string, unknown>;
}

/**
 * The value of `raw` under `schema`, or a ConfigError naming the first bad field. `prefix` is where
 * the schema sits in the part's file (`metrics`); `label` may rename a path segment, e.g. to add a
 * list entry's name to its index.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, opts: { prefix?: string[]; label?: (path: string[]) => string[] } = {}): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = [...(opts.prefix ?? []), ...issue.path.map(String)];
  const field = (opts.label ? opts.label(path) : path).join('.') || '(top level)';
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  throw new ConfigError(`invalid configuration: ${field}: ${message}`, field);
}

/** A secret (token, password) from a file, trimmed; never from a flag's value. */
export function readSecretFile(field: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${field}: cannot read ${path}: ${(err as Error).message}`, field);
  }
  if (!text) throw new ConfigError(`invalid configuration: ${field}: ${path} is empty`, field);
  return text;
}

/** The host a `:PORT` listen address serves on: loopback, so nothing is exposed unless asked. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

export interface HostPort {
  /** Without brackets for IPv6. */
  host: string;
  port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (port 0 picks a free one); undefined when it is none of them. */
export function parseHostPort(value: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || DEFAULT_LISTEN_HOST), port };
}

/** A `HOST:PORT` field of a schema. */
export const hostPort = z.string().refine((v) => parseHostPort(v) !== undefined, 'expected HOST:PORT with a port from 0 to 65535');

/** `HOST:PORT` for a URL: IPv6 in brackets, and a wildcard host shown as loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return DEFAULT_LISTEN_HOST;
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Leader election timings in a part's configuration, in seconds as every duration of KRE's
 * configuration is (and as the Lease's own `leaseDurationSeconds`); `leaseTimingsMs` turns them
 * into the LeaderElector's options.
 */
export const leaseTimings = {
  leaseDurationSeconds: z.number().positive().default(15),
  renewDeadlineSeconds: z.number().positive().default(10),
  retryPeriodSeconds: z.number().positive().default(2),
};

export interface LeaseTimings {
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export const LEASE_TIMINGS_ORDER = 'expected retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds';

export function leaseTimingsInOrder(t: LeaseTimings): boolean {
  return t.retryPeriodSeconds < t.renewDeadlineSeconds && t.renewDeadlineSeconds < t.leaseDurationSeconds;
}

export function leaseTimingsMs(t: LeaseTimings): { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  return { leaseDurationMs: t.leaseDurationSeconds * 1000, renewDeadlineMs: t.renewDeadlineSeconds * 1000, retryPeriodMs: t.retryPeriodSeconds * 1000 };
}
