/**
 * What every part's configuration is made of: the `--config FILE` (a YAML mapping), one zod schema
 * whose first problem becomes a `ConfigError` naming the field, secrets read from files, listen
 * addresses (`HOST:PORT`, one default host) and durations (`500ms`, `10s`, `2m`, `1h`).
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

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1h30m`, `10s`, `250ms` in milliseconds; undefined when it is not a duration. */
export function parseDuration(value: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) return undefined;
  let ms = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** A duration field of a schema: `10s`, `250ms`, `2m`, `1h30m`, as milliseconds. */
export const duration = z
  .string()
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 250ms, 10s, 2m or 1h, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

/**
 * Leader election timings in a part's configuration, as client-go names them: durations in the
 * file, milliseconds once parsed. A schema refines them with `leaseTimingsInOrder`.
 */
export const leaseTimings = {
  leaseDuration: duration.prefault('15s'),
  renewDeadline: duration.prefault('10s'),
  retryPeriod: duration.prefault('2s'),
};

export const LEASE_TIMINGS_ORDER = 'expected retryPeriod < renewDeadline < leaseDuration';

export function leaseTimingsInOrder(t: { leaseDuration: number; renewDeadline: number; retryPeriod: number }): boolean {
  return t.retryPeriod < t.renewDeadline && t.renewDeadline < t.leaseDuration;
}
