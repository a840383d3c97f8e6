/**
 * The resource metrics' part of the manager's configuration (`metrics:` in its YAML file, the
 * `--prometheus-*` and `--metrics-*` flags, `KRE_MANAGER_PROMETHEUS_*` env). Secrets — Prometheus'
 * bearer token and basic-auth password — come only from files, read at each request so that a
 * rotated token is picked up.
 */
import { z } from 'zod';
import { parseConfig } from '../../kube/index.ts';
import { DEFAULT_CPU_QUERY, DEFAULT_MEMORY_QUERY, DEFAULT_RATE_WINDOW, DURATION_PATTERN, templateProblem } from './promql.ts';

const template = z.string().min(1).superRefine((t, ctx) => {
  const problem = templateProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const PrometheusConfigSchema = z
  .strictObject({
    /** The seed's default: a port-forward to the cluster's Prometheus. */
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'expected http://host:port[/path] or https://…')
      .refine(parsableUrl, 'expected http://host:port[/path] or https://… with a host and a valid port')
      .default('http://localhost:9090'),
    /** Per query, sent to Prometheus as its `timeout` too. */
    timeoutSeconds: z.number().positive().max(300).default(10),
    /** A bearer token, read from this file (mode 0600) at each request. */
    bearerTokenFile: z.string().min(1).optional(),
    /** Basic auth: the user name, and the password from a file. */
    username: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    /** HTTPS: the CA to trust (PEM), or no verification at all (`insecureSkipVerify`). */
    caFile: z.string().min(1).optional(),
    insecureSkipVerify: z.boolean().default(false),
    /** A larger answer is cut off and reported as an error: a query that matches far too much. */
    maxResponseBytes: z.number().int().positive().default(16 * 1024 * 1024),
    /** The seed's two range queries, as templates (see promql.ts). */
    cpuQuery: template.default(DEFAULT_CPU_QUERY),
    memoryQuery: template.default(DEFAULT_MEMORY_QUERY),
    rateWindow: z.string().regex(DURATION_PATTERN, 'expected a Prometheus duration such as 5m or 30s').default(DEFAULT_RATE_WINDOW),
  })
  .refine((p) => !(p.bearerTokenFile && (p.username || p.passwordFile)), { message: 'give either bearerTokenFile or username/passwordFile, not both', path: ['bearerTokenFile'] })
  .refine((p) => !p.passwordFile || p.username, { message: 'passwordFile needs a username', path: ['username'] })
  .refine((p) => !(p.caFile && p.insecureSkipVerify), { message: 'give either caFile or insecureSkipVerify, not both', path: ['caFile'] });

export const MetricsConfigSchema = z.strictObject({
  /**
   * Where the numbers come from: `prometheus`, `metrics-api` (metrics.k8s.io, sampled into memory),
   * or `auto` — Prometheus when it answers at start, else metrics.k8s.io.
   */
  source: z.enum(['prometheus', 'metrics-api', 'auto']).default('auto'),
  prometheus: PrometheusConfigSchema.default(() => PrometheusConfigSchema.parse({})),
  /** How often WatchVersion's pollers (and the metrics.k8s.io sampler) look for new points. */
  pollIntervalSeconds: z.number().positive().max(3600).default(10),
  /** The most points one GetVersion answers ((to − from) / step + 1); Prometheus' own limit is 11,000. */
  maxPoints: z.number().int().positive().max(11_000).default(11_000),
  /** Points a WatchVersion stream may have waiting for a slow client; beyond, the stream ends (RESOURCE_EXHAUSTED). */
  streamBufferPoints: z.number().int().positive().max(100_000).default(1_000),
  /** Streams open at once over all versions; beyond, WatchVersion answers RESOURCE_EXHAUSTED. */
  maxStreams: z.number().int().positive().default(10_000),
  /** The metrics.k8s.io source's history: points kept per version, and versions kept. */
  history: z
    .strictObject({
      pointsPerVersion: z.number().int().positive().max(100_000).default(8_640),
      versions: z.number().int().positive().max(100_000).default(1_000),
    })
    .default({ pointsPerVersion: 8_640, versions: 1_000 }),
});

export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;
export type PrometheusConfig = MetricsConfig['prometheus'];

function parsableUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.hostname !== '' && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** The flags of `kre manager` that feed this schema. */
export interface MetricsFlags {
  metricsSource?: string;
  prometheusUrl?: string;
  prometheusTimeout?: string | number;
  prometheusTokenFile?: string;
  prometheusUsername?: string;
  prometheusPasswordFile?: string;
  prometheusCaFile?: string;
  prometheusInsecureSkipVerify?: boolean;
  metricsPollInterval?: string | number;
}

/**
 * The `metrics` section from the file's section, the environment and the flags (flags win, then
 * the environment); the result is for `MetricsConfigSchema` to check.
 */
export function mergeMetricsConfig(file: unknown, flags: MetricsFlags, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const base = isObject(file) ? { ...file } : file === undefined || file === null ? {} : file;
  if (!isObject(base)) return base as Record<string, unknown>;
  const prometheus: Record<string, unknown> = isObject(base.prometheus) ? { ...base.prometheus } : {};
  const pick = (flag: unknown, envName: string) => flag ?? (env[envName] || undefined);
  const set = (target: Record<string, unknown>, key: string, v: unknown, convert: (v: unknown) => unknown = (x) => x) => {
    if (v !== undefined) target[key] = convert(v);
  };
  set(base, 'source', pick(flags.metricsSource, 'KRE_MANAGER_METRICS_SOURCE'));
  set(base, 'pollIntervalSeconds', pick(flags.metricsPollInterval, 'KRE_MANAGER_METRICS_POLL_INTERVAL_SECONDS'), toNumber);
  set(prometheus, 'url', pick(flags.prometheusUrl, 'KRE_MANAGER_PROMETHEUS_URL'));
  set(prometheus, 'timeoutSeconds', pick(flags.prometheusTimeout, 'KRE_MANAGER_PROMETHEUS_TIMEOUT_SECONDS'), toNumber);
  set(prometheus, 'bearerTokenFile', pick(flags.prometheusTokenFile, 'KRE_MANAGER_PROMETHEUS_TOKEN_FILE'));
  set(prometheus, 'username', pick(flags.prometheusUsername, 'KRE_MANAGER_PROMETHEUS_USERNAME'));
  set(prometheus, 'passwordFile', pick(flags.prometheusPasswordFile, 'KRE_MANAGER_PROMETHEUS_PASSWORD_FILE'));
  set(prometheus, 'caFile', pick(flags.prometheusCaFile, 'KRE_MANAGER_PROMETHEUS_CA_FILE'));
  set(prometheus, 'insecureSkipVerify', pick(flags.prometheusInsecureSkipVerify, 'KRE_MANAGER_PROMETHEUS_INSECURE_SKIP_VERIFY'), (v) => (typeof v === 'string' ? v === 'true' || v === '1' : v));
  if (Object.keys(prometheus).length > 0) base.prometheus = prometheus;
  return base;
}

function toNumber(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseMetricsConfig(raw: unknown): MetricsConfig {
  return parseConfig(MetricsConfigSchema, raw ?? {}, { prefix: ['metrics'] });
}
