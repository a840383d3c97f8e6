/**
 * The monitor's configuration: one zod schema for what comes from the YAML file (`--config`),
 * the flags and the environment. The API token never comes from a flag's value: `--token-file`,
 * `tokenFile` in the file, or `KRE_MONITOR_TOKEN`.
 */
import { z } from 'zod';
import { ConfigError, hostPort, LEASE_TIMINGS_ORDER, leaseTimings, leaseTimingsInOrder, parseConfig, readConfigFile, readSecretFile } from '../kube/index.ts';
import { isSecret, parseResourceName, type ResourceSpec } from './resources.ts';

const resourceEntry = z.union([
  z.string().refine((s) => parseResourceName(s) !== undefined, 'expected VERSION/RESOURCE or GROUP/VERSION/RESOURCE'),
  z.strictObject({
    group: z.string().default(''),
    version: z.string().min(1),
    resource: z.string().min(1),
    verifyIntervalSeconds: z.number().positive().optional(),
  }),
]);

export const MonitorConfigSchema = z.strictObject({
  kubeconfig: z.string().min(1).optional(),
  listen: hostPort.default('127.0.0.1:8003'),
  /** The monitor's own namespace, where its canary ConfigMap lives. */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a DNS label').default('kre-monitor'),
  verifyIntervalSeconds: z.number().positive().default(30),
  /** How often the canary is written; 0 turns it off. */
  canaryIntervalSeconds: z.number().min(0).default(5),
  pageSize: z.number().int().positive().max(10_000).default(500),
  /** Watch the seed's six kinds; `resources` adds to them (or overrides their verify interval). */
  defaultResources: z.boolean().default(true),
  resources: z
    .array(resourceEntry)
    .default([])
    .superRefine((entries, ctx) => {
      entries.forEach((e, i) => {
        const spec = typeof e === 'string' ? parseResourceName(e) : e;
        if (spec && isSecret(spec)) ctx.addIssue({ code: 'custom', path: [i], message: 'secrets are never cached by the monitor' });
      });
    }),
  tokenFile: z.string().min(1).optional(),
  /**
   * Keep state in Redis, shared by the replicas of a group (memory when unset). The password comes
   * from the URL, `passwordFile`, or `KRE_MONITOR_REDIS_PASSWORD`; it is never logged.
   */
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\/[^\s]+$/, 'expected redis://[user[:password]@]host:port[/db] or rediss://…')
        .refine(parsableHost, 'expected redis://[user[:password]@]host:port[/db] or rediss://… with a host and a valid port'),
      username: z.string().min(1).optional(),
      passwordFile: z.string().min(1).optional(),
      /** TLS (`rediss://`): the CA to trust, and a client certificate and key, as PEM files. */
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** Replicas of one group share its keys and its Lease (`kre-monitor-<group>` in `namespace`). */
      group: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, 'expected a DNS label of at most 42 characters').default('default'),
      /** This replica's identity in the Lease; the host name and a random suffix when unset. */
      identity: z.string().min(1).optional(),
      ...leaseTimings,
    })
    .refine(leaseTimingsInOrder, LEASE_TIMINGS_ORDER)
    .optional(),
  /**
   * The kube-state-metrics-compatible series on `/metrics/kube-state`. Only allowlisted pod label
   * keys become labels of `kube_pod_labels` (kube-state-metrics' `--metric-labels-allowlist=pods=[…]`);
   * no wildcard, so what a pod's labels add to the series is bounded by this list.
   */
  kubeStateMetrics: z
    .strictObject({
      podLabelsAllowlist: z
        .array(z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'expected a Kubernetes label key'))
        .max(64, 'at most 64 label keys')
        .default([]),
    })
    .prefault({}),
  /** Serve HTTPS: with this certificate, or `selfSigned: true` for one made at start. Plain HTTP when unset. */
  tls: z
    .union([z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }), z.strictObject({ selfSigned: z.literal(true) })])
    .optional(),
});

export type MonitorConfig = z.infer<typeof MonitorConfigSchema>;

function parsableHost(url: string): boolean {
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

export { ConfigError };

export function parseMonitorConfig(raw: unknown): MonitorConfig {
  return parseConfig(MonitorConfigSchema, raw);
}

export interface ConfigSources {
  /** Values given as flags; they override the file. */
  flags: { config?: string; kubeconfig?: string; listen?: string; namespace?: string; tokenFile?: string; redis?: string };
  env?: NodeJS.ProcessEnv;
}

/** The configuration and the token, from the file, the flags and the environment. */
export function loadMonitorConfig({ flags, env = process.env }: ConfigSources): { config: MonitorConfig; token: string; redisPassword?: string } {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const merged: Record<string, unknown> = { ...file };
  // The Redis URL: the flag, else the environment, else the file.
  const redisUrl = flags.redis ?? env.KRE_MONITOR_REDIS_URL;
  if (redisUrl) merged.redis = { ...(typeof file.redis === 'object' && file.redis !== null ? file.redis : {}), url: redisUrl };
  // The pod label allowlist: comma-separated in the environment, as kube-state-metrics' flag takes it.
  const allowlist = env.KRE_MONITOR_POD_LABELS_ALLOWLIST;
  if (allowlist !== undefined) {
    const ksm = typeof file.kubeStateMetrics === 'object' && file.kubeStateMetrics !== null ? file.kubeStateMetrics : {};
    merged.kubeStateMetrics = { ...ksm, podLabelsAllowlist: allowlist.split(',').map((k) => k.trim()).filter((k) => k !== '') };
  }
  for (const [k, v] of Object.entries(flags)) if (k !== 'config' && k !== 'redis' && v !== undefined) merged[k] = v;
  const config = parseMonitorConfig(merged);
  const redisPassword = config.redis?.passwordFile ? readSecretFile('redis.passwordFile', config.redis.passwordFile) : env.KRE_MONITOR_REDIS_PASSWORD || undefined;
  const token = config.tokenFile ? readSecretFile('tokenFile', config.tokenFile) : env.KRE_MONITOR_TOKEN?.trim();
  if (!token) throw new ConfigError('invalid configuration: token: give --token-file PATH or set KRE_MONITOR_TOKEN');
  return { config, token, ...(redisPassword ? { redisPassword } : {}) };
}

/** The resources a configuration names, with their verify interval in ms. */
export function configuredResources(config: MonitorConfig): { extra: ResourceSpec[]; verifyEveryMs: (spec: ResourceSpec) => number } {
  const entries = config.resources.map((e) => {
    const spec = typeof e === 'string' ? parseResourceName(e)! : { group: e.group, version: e.version, resource: e.resource };
    return { spec, seconds: typeof e === 'string' ? undefined : e.verifyIntervalSeconds };
  });
  return {
    extra: entries.map((e) => e.spec),
    verifyEveryMs: (spec) => {
      const e = entries.find((x) => x.spec.group === spec.group && x.spec.version === spec.version && x.spec.resource === spec.resource);
      return (e?.seconds ?? config.verifyIntervalSeconds) * 1000;
    },
  };
}
