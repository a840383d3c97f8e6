/**
 * The agent's configuration: one zod schema for the YAML file (`--config`), the flags and the
 * environment (`KRE_AGENT_…`, and `NODE_NAME` as the downward API sets it). Precedence: flags,
 * then the environment, then the file. Secrets are never values here: the kubelet's token, the
 * client key and the token guarding `/metrics` are files (or `KRE_AGENT_TOKEN`).
 *
 * Monitored namespaces: every namespace except `kube-system`, `kube-public` and `kube-node-lease`
 * by default. The seed watched only `default`, but KRE puts each runtime in a namespace of its own
 * whose name is not known when the agent is deployed; system pods are not workloads to measure or
 * allocate (an allocation rule must never throttle the cluster's DNS).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, hostPort, parseConfig, readConfigFile, readSecretFile } from '../kube/index.ts';
import { AllocationRuleSchema } from './allocator.ts';

const nodeName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected a node name (DNS subdomain)');
const namespace = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a namespace name (DNS label)');

export const AgentConfigSchema = z.strictObject({
  /** The node this agent runs on: `--node`, `KRE_AGENT_NODE` or `NODE_NAME`. */
  node: nodeName,
  listen: hostPort.default('127.0.0.1:8005'),
  /** Iteration interval: tasks, measurements, allocations, metrics. */
  intervalSeconds: z.number().min(0.1).max(3600).default(10),
  /** Where the tasks come from: the kubelet's `/pods` (default), or the API server (watch, no polling). */
  source: z.enum(['kubelet', 'apiserver']).default('kubelet'),
  /** For `source: apiserver`: the cluster (else KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig: z.string().min(1).optional(),
  kubelet: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/[^\s/]+(?::\d+)?\/?$/, 'expected https://HOST:PORT').default('https://127.0.0.1:10250'),
      /** The kubelet's serving CA (PEM); the system's CAs when unset. */
      caFile: z.string().min(1).optional(),
      /** Skip verifying the kubelet's certificate; must be asked for explicitly. */
      insecure: z.boolean().default(false),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** A bearer token file (a ServiceAccount token, re-read every minute as it rotates). */
      tokenFile: z.string().min(1).optional(),
      timeoutSeconds: z.number().positive().max(300).default(10),
      maxResponseBytes: z.number().int().positive().default(64 * 1024 * 1024),
      /** How long the last good pod list stands in for a kubelet that answers badly; then no tasks. */
      staleAfterSeconds: z.number().min(0).default(60),
    })
    .refine((k) => !k.certFile === !k.keyFile, 'expected certFile and keyFile together')
    .prefault({}),
  cgroup: z
    .strictObject({
      root: z.string().min(1).default('/sys/fs/cgroup'),
      version: z.enum(['v1', 'v2']).optional(),
      driver: z.enum(['cgroupfs', 'systemd']).optional(),
      /** A sub-path under each hierarchy where `kubepods` lives (tests; '' on a node). */
      parent: z.string().optional(),
    })
    .prefault({}),
  /** Only these namespaces (empty: all but `excludeNamespaces`). */
  namespaces: z.array(namespace).default([]),
  excludeNamespaces: z.array(namespace).default(['kube-system', 'kube-public', 'kube-node-lease']),
  /** Bounds on task series. */
  maxTasks: z.number().int().positive().max(10_000).default(500),
  podLabels: z
    .strictObject({
      maxLabels: z.number().int().min(0).max(256).default(32),
      maxValueLength: z.number().int().positive().max(1024).default(128),
      /** Only these pod label keys (as Kubernetes has them); all when unset. */
      allow: z.array(z.string().min(1)).optional(),
    })
    .prefault({}),
  /** Also write the metrics text here, atomically, for node_exporter's textfile collector. */
  textfile: z.string().min(1).optional(),
  /** A bearer token file guarding `/metrics` (else `KRE_AGENT_TOKEN`); open when neither is given. */
  tokenFile: z.string().min(1).optional(),
  /** `monitoring` only reads; `allocation` also keeps the rules' allocations applied. */
  mode: z.enum(['monitoring', 'allocation']).default('monitoring'),
  allocation: z
    .strictObject({
      /** What one `cpu_shares` unit is in `cpu.shares`. */
      sharesUnit: z.number().positive().default(1000),
      rules: z.array(AllocationRuleSchema).default([]),
    })
    .prefault({}),
});

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export { ConfigError };

export function parseAgentConfig(raw: unknown): AgentConfig {
  return parseConfig(AgentConfigSchema, raw, {
    // Name the rule as well as its index: `allocation.rules.1 (pin-web).allocations.cpuset_cpus`.
    label: (path) => {
      if (path[0] !== 'allocation' || path[1] !== 'rules' || path.length <= 2) return path;
      const rules = (raw as { allocation?: { rules?: unknown } } | undefined)?.allocation?.rules;
      const name = Array.isArray(rules) ? (rules[Number(path[2])] as { name?: unknown } | undefined)?.name : undefined;
      return typeof name === 'string' && name ? [...path.slice(0, 2), `${path[2]} (${name})`, ...path.slice(3)] : path;
    },
  });
}

export interface AgentFlags {
  config?: string;
  kubeconfig?: string;
  listen?: string;
  node?: string;
  source?: string;
  kubeletUrl?: string;
  kubeletCaFile?: string;
  kubeletCertFile?: string;
  kubeletKeyFile?: string;
  kubeletTokenFile?: string;
  kubeletInsecure?: boolean;
  cgroupRoot?: string;
  cgroupDriver?: string;
  cgroupVersion?: string;
  mode?: string;
  interval?: string;
  textfile?: string;
  tokenFile?: string;
}

function section(file: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = file[key];
  return v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

function numberFrom(field: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`invalid configuration: ${field}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** The configuration and the `/metrics` token (if any), from the file, the environment and the flags. */
export function loadAgentConfig({ flags, env = process.env }: { flags: AgentFlags; env?: NodeJS.ProcessEnv }): { config: AgentConfig; token?: string } {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const merged: Record<string, unknown> = { ...file };
  const kubelet = section(file, 'kubelet');
  const cgroup = section(file, 'cgroup');
  const set = (target: Record<string, unknown>, key: string, ...values: Array<unknown>) => {
    for (const v of values) {
      if (v !== undefined && v !== '') {
        target[key] = v;
        return;
      }
    }
  };
  // Highest precedence first: the flag, then the environment; the file's value stays otherwise.
  set(merged, 'node', flags.node, env.KRE_AGENT_NODE, env.NODE_NAME);
  set(merged, 'listen', flags.listen, env.KRE_AGENT_LISTEN);
  set(merged, 'kubeconfig', flags.kubeconfig);
  set(merged, 'source', flags.source, env.KRE_AGENT_SOURCE);
  set(merged, 'mode', flags.mode, env.KRE_AGENT_MODE);
  set(merged, 'intervalSeconds', numberFrom('--interval', flags.interval), numberFrom('KRE_AGENT_INTERVAL_SECONDS', env.KRE_AGENT_INTERVAL_SECONDS));
  set(merged, 'textfile', flags.textfile, env.KRE_AGENT_TEXTFILE);
  set(merged, 'tokenFile', flags.tokenFile);
  set(kubelet, 'url', flags.kubeletUrl, env.KRE_AGENT_KUBELET_URL);
  set(kubelet, 'caFile', flags.kubeletCaFile, env.KRE_AGENT_KUBELET_CA_FILE);
  set(kubelet, 'certFile', flags.kubeletCertFile, env.KRE_AGENT_KUBELET_CERT_FILE);
  set(kubelet, 'keyFile', flags.kubeletKeyFile, env.KRE_AGENT_KUBELET_KEY_FILE);
  set(kubelet, 'tokenFile', flags.kubeletTokenFile, env.KRE_AGENT_KUBELET_TOKEN_FILE);
  set(kubelet, 'insecure', flags.kubeletInsecure || undefined, env.KRE_AGENT_KUBELET_INSECURE === undefined ? undefined : env.KRE_AGENT_KUBELET_INSECURE === 'true');
  set(cgroup, 'root', flags.cgroupRoot, env.KRE_AGENT_CGROUP_ROOT);
  set(cgroup, 'driver', flags.cgroupDriver, env.KRE_AGENT_CGROUP_DRIVER);
  set(cgroup, 'version', flags.cgroupVersion, env.KRE_AGENT_CGROUP_VERSION);
  if (Object.keys(kubelet).length > 0) merged.kubelet = kubelet;
  if (Object.keys(cgroup).length > 0) merged.cgroup = cgroup;
  if (merged.node === undefined) throw new ConfigError('invalid configuration: node: give --node NAME or set NODE_NAME (the downward API: spec.nodeName)');
  const config = parseAgentConfig(merged);
  const token = config.tokenFile ? readSecretFile('tokenFile', config.tokenFile) : env.KRE_AGENT_TOKEN?.trim() || undefined;
  for (const [field, path] of [
    ['kubelet.caFile', config.kubelet.caFile],
    ['kubelet.certFile', config.kubelet.certFile],
    ['kubelet.keyFile', config.kubelet.keyFile],
    ['kubelet.tokenFile', config.kubelet.tokenFile],
  ] as const) {
    if (!path) continue;
    try {
      readFileSync(path);
    } catch (err) {
      throw new ConfigError(`invalid configuration: ${field}: cannot read ${path}: ${(err as Error).message}`);
    }
  }
  if (config.mode === 'allocation' && config.allocation.rules.length === 0) {
    throw new ConfigError('invalid configuration: allocation.rules: allocation mode needs at least one rule');
  }
  return { config, ...(token ? { token } : {}) };
}
