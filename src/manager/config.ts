/**
 * The manager's configuration: one zod schema for what comes from the YAML file (`--config`), the
 * environment (`KRE_MANAGER_…`) and the flags, in that order of precedence from lowest. The API
 * token never comes from a flag's value: `--token-file`, `tokenFile` in the file, or
 * `KRE_MANAGER_TOKEN`. An invalid value stops the program at start with a message naming the field.
 */
import { z } from 'zod';
import { ConfigError, hostPort, parseConfig, readConfigFile, readSecretFile } from '../kube/index.ts';
import { imageReference } from '../api/index.ts';
import { MetricsConfigSchema, mergeMetricsConfig, type MetricsFlags } from './metrics/config.ts';

export const ManagerConfigSchema = z.strictObject({
  kubeconfig: z.string().min(1).optional(),
  /** The gRPC API; the seed's port. `localhost` binds both the IPv4 and the IPv6 loopback. */
  listen: hostPort.default('localhost:50051'),
  /** `/metrics`, `/livez` and `/readyz` over plain HTTP (port 0 picks a free one). */
  httpListen: hostPort.default('127.0.0.1:0'),
  tokenFile: z.string().min(1).optional(),
  /** Serve gRPC over TLS: with this certificate, or `selfSigned: true` for one made at start. Plaintext when unset. */
  tls: z
    .union([z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }), z.strictObject({ selfSigned: z.literal(true) })])
    .optional(),
  /**
   * Where the operator runs. `cluster-wide`: one operator watches every namespace and the manager
   * deploys none. `per-namespace` (the seed's model): `Create` deploys an operator into the runtime's
   * namespace with a Role holding exactly what it needs there.
   */
  operator: z
    .strictObject({
      mode: z.enum(['cluster-wide', 'per-namespace']).default('cluster-wide'),
      /** The per-namespace operator's image: the `kre` image, whose entrypoint is `kre`. */
      image: imageReference.default('konstellation/kre:0.1.0'),
    })
    .prefault({}),
  /** How long `RuntimeStatus` and `Publish` wait when the call carries no deadline. */
  waitTimeoutSeconds: z.number().positive().max(3600).default(300),
  /** How often the health service checks that the API server answers. */
  apiCheckIntervalSeconds: z.number().positive().max(3600).default(5),
  /** A version's CPU and memory: Prometheus or metrics.k8s.io (src/manager/metrics/config.ts). */
  metrics: MetricsConfigSchema.prefault({}),
});

export type ManagerConfig = z.infer<typeof ManagerConfigSchema>;

export { ConfigError };

export function parseManagerConfig(raw: unknown): ManagerConfig {
  return parseConfig(ManagerConfigSchema, raw);
}

export interface ManagerConfigSources {
  /** Values given as flags; they override the environment and the file. */
  flags: { config?: string; kubeconfig?: string; listen?: string; httpListen?: string; tokenFile?: string; operatorMode?: string; operatorImage?: string; tlsCert?: string; tlsKey?: string; tlsSelfSigned?: boolean } & MetricsFlags;
  env?: NodeJS.ProcessEnv;
}

/** The configuration and the token, from the file, the environment and the flags. */
export function loadManagerConfig({ flags, env = process.env }: ManagerConfigSources): { config: ManagerConfig; token: string } {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const pick = <T>(...values: (T | undefined)[]) => values.find((v) => v !== undefined && v !== '');
  const fileOperator = (typeof file.operator === 'object' && file.operator !== null ? file.operator : {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...file };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };
  set('kubeconfig', pick(flags.kubeconfig, file.kubeconfig as string | undefined));
  set('listen', pick(flags.listen, env.KRE_MANAGER_LISTEN, file.listen as string | undefined));
  set('httpListen', pick(flags.httpListen, env.KRE_MANAGER_HTTP_LISTEN, file.httpListen as string | undefined));
  set('tokenFile', pick(flags.tokenFile, env.KRE_MANAGER_TOKEN_FILE, file.tokenFile as string | undefined));
  const mode = pick(flags.operatorMode, env.KRE_MANAGER_OPERATOR_MODE);
  const image = pick(flags.operatorImage, env.KRE_MANAGER_OPERATOR_IMAGE);
  if (mode !== undefined || image !== undefined) merged.operator = { ...fileOperator, ...(mode !== undefined ? { mode } : {}), ...(image !== undefined ? { image } : {}) };
  if (flags.tlsSelfSigned) merged.tls = { selfSigned: true };
  else if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) merged.tls = { certFile: flags.tlsCert, keyFile: flags.tlsKey };
  merged.metrics = mergeMetricsConfig(file.metrics, flags, env);
  const config = parseManagerConfig(merged);
  const token = config.tokenFile ? readSecretFile('tokenFile', config.tokenFile) : env.KRE_MANAGER_TOKEN?.trim();
  if (!token) throw new ConfigError('invalid configuration: token: give --token-file PATH or set KRE_MANAGER_TOKEN');
  return { config, token };
}
