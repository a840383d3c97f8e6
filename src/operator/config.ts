/**
 * The operator's configuration: one zod schema, filled from an optional YAML file, then the
 * environment (`KRE_OPERATOR_…`, and `WATCH_NAMESPACE` as the seed's manager sets it), then flags.
 * An invalid value stops the program at start with a message naming the field.
 */
import { z } from 'zod';
import { dnsLabel } from '../api/index.ts';
import { ConfigError, hostPort, LEASE_TIMINGS_ORDER, leaseTimings, leaseTimingsInOrder, parseConfig, readConfigFile } from '../kube/index.ts';

export const OperatorConfig = z
  .object({
    kubeconfig: z.string().min(1).optional(),
    namespace: dnsLabel.optional().describe('watch only this namespace; all when unset'),
    listen: hostPort.default('127.0.0.1:0'),
    workers: z.coerce.number().int().min(1).max(64).default(4),
    leaderElection: z
      .object({
        enabled: z.boolean().default(true),
        namespace: dnsLabel.optional().describe('where the Lease lives; default: the watched namespace, else POD_NAMESPACE, else default'),
        ...leaseTimings,
      })
      .strict()
      .refine(leaseTimingsInOrder, LEASE_TIMINGS_ORDER)
      .prefault({}),
  })
  .strict();
export type OperatorConfig = z.infer<typeof OperatorConfig>;

export { ConfigError };

export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flags as commander gives them; undefined means "not given". */
  flags?: { kubeconfig?: string; namespace?: string; listen?: string; workers?: string; leaderElect?: boolean; leaseNamespace?: string };
}

export function loadOperatorConfig(sources: ConfigSources): OperatorConfig {
  const env = sources.env ?? process.env;
  const fromFile: Record<string, unknown> = sources.file ? readConfigFile(sources.file) : {};
  const flags = sources.flags ?? {};
  const pick = <T>(...values: (T | undefined)[]) => values.find((v) => v !== undefined && v !== '');
  const boolEnv = (v: string | undefined) => (v === undefined || v === '' ? undefined : v === 'true' || v === '1');
  // The file's leaderElection mapping, under the flags and the environment; anything else in its
  // place is left for the schema to refuse.
  const election = fromFile.leaderElection ?? {};
  const fileElection: Record<string, unknown> | undefined = typeof election === 'object' && !Array.isArray(election) ? { ...election } : undefined;
  const input = {
    ...fromFile,
    kubeconfig: pick(flags.kubeconfig, fromFile.kubeconfig),
    namespace: pick(flags.namespace, env.KRE_OPERATOR_NAMESPACE, env.WATCH_NAMESPACE, fromFile.namespace),
    listen: pick(flags.listen, env.KRE_OPERATOR_LISTEN, fromFile.listen),
    workers: pick<unknown>(flags.workers, env.KRE_OPERATOR_WORKERS, fromFile.workers),
    leaderElection: fileElection
      ? {
          ...fileElection,
          enabled: pick(flags.leaderElect === false ? false : undefined, boolEnv(env.KRE_OPERATOR_LEADER_ELECTION), fileElection.enabled),
          namespace: pick(flags.leaseNamespace, env.KRE_OPERATOR_LEASE_NAMESPACE, fileElection.namespace, env.POD_NAMESPACE),
        }
      : election,
  };
  return parseConfig(OperatorConfig, input);
}
