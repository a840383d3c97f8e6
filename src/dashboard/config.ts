/**
 * The dashboard's configuration: one zod schema for the YAML file (`--config`), the environment
 * (`KRE_DASHBOARD_…`) and the flags, in that order of precedence from lowest. Tokens never come from
 * a flag's value: the login token from `tokenFile` or `KRE_DASHBOARD_TOKEN`, the monitor's and the
 * manager's from their `tokenFile` or `KRE_MONITOR_TOKEN` / `KRE_MANAGER_TOKEN`.
 */
import { z } from 'zod';
import { ConfigError, hostPort, parseConfig, readConfigFile, readSecretFile } from '../kube/index.ts';

export const DashboardConfigSchema = z.strictObject({
  /** The page, its event stream, its actions, and `/livez`, `/readyz`, `/metrics`. */
  listen: hostPort.default('127.0.0.1:8080'),
  /** The token a person types once on the login page. */
  tokenFile: z.string().min(1).optional(),
  monitor: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected http://host:port or https://…').default('http://127.0.0.1:8003'),
      tokenFile: z.string().min(1).optional(),
      /** How often the dashboard reads the monitor's cache (the monitor serves no watches). */
      pollIntervalMs: z.number().int().min(100).max(60_000).default(1000),
      timeoutMs: z.number().int().positive().max(60_000).default(5000),
    })
    .prefault({}),
  manager: z
    .strictObject({
      address: z.string().min(1).default('localhost:50051'),
      tokenFile: z.string().min(1).optional(),
      /** Reach the manager over TLS, trusting this CA (PEM); plaintext when unset. */
      caFile: z.string().min(1).optional(),
      /** How long an action may take before the dashboard reports it timed out. */
      actionTimeoutSeconds: z.number().positive().max(3600).default(300),
    })
    .prefault({}),
  /** A logged-in browser keeps its session this long without logging in again. */
  sessionHours: z.number().positive().max(24 * 30).default(12),
  /** Sessions kept at once; past it the oldest is dropped (its browser logs in again). */
  maxSessions: z.number().int().positive().max(100_000).default(1000),
  /** Bytes an event stream may have waiting for a slow browser; past it the stream is closed and the browser reconnects. */
  clientBufferBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Points of a version's graph kept in memory and sent to a browser that starts looking. */
  graphPoints: z.number().int().positive().max(100_000).default(720),
  /** How far back a graph starts when it is opened, in seconds. */
  graphWindowSeconds: z.number().int().positive().max(86_400).default(600),
  /** WatchVersion's step, seconds. */
  graphStepSeconds: z.number().int().positive().max(3600).default(1),
  /** How long a version's WatchVersion stays open after the last browser stopped looking. */
  graphLingerMs: z.number().int().min(0).max(600_000).default(5000),
});

export type DashboardConfig = z.infer<typeof DashboardConfigSchema>;

export function parseDashboardConfig(raw: unknown): DashboardConfig {
  return parseConfig(DashboardConfigSchema, raw);
}

export interface DashboardTokens {
  /** What a person logs in with. */
  login: string;
  monitor: string;
  manager: string;
}

export interface DashboardConfigSources {
  flags: { config?: string; listen?: string; tokenFile?: string; monitorUrl?: string; monitorTokenFile?: string; managerAddress?: string; managerTokenFile?: string };
  env?: NodeJS.ProcessEnv;
}

function readToken(field: string, file: string | undefined, fromEnv: string | undefined, envName: string): string {
  const token = file ? readSecretFile(field, file) : fromEnv?.trim();
  if (!token) throw new ConfigError(`invalid configuration: ${field}: give a token file or set ${envName}`, field);
  return token;
}

export function loadDashboardConfig({ flags, env = process.env }: DashboardConfigSources): { config: DashboardConfig; tokens: DashboardTokens } {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const section = (k: string) => (typeof file[k] === 'object' && file[k] !== null ? (file[k] as Record<string, unknown>) : {});
  const pick = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== '');
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const merged: Record<string, unknown> = {
    ...file,
    ...defined({ listen: pick(flags.listen, env.KRE_DASHBOARD_LISTEN), tokenFile: pick(flags.tokenFile, env.KRE_DASHBOARD_TOKEN_FILE) }),
    monitor: { ...section('monitor'), ...defined({ url: pick(flags.monitorUrl, env.KRE_DASHBOARD_MONITOR_URL), tokenFile: pick(flags.monitorTokenFile, env.KRE_DASHBOARD_MONITOR_TOKEN_FILE) }) },
    manager: { ...section('manager'), ...defined({ address: pick(flags.managerAddress, env.KRE_DASHBOARD_MANAGER_ADDRESS), tokenFile: pick(flags.managerTokenFile, env.KRE_DASHBOARD_MANAGER_TOKEN_FILE) }) },
  };
  const config = parseDashboardConfig(merged);
  return {
    config,
    tokens: {
      login: readToken('tokenFile', config.tokenFile, env.KRE_DASHBOARD_TOKEN, 'KRE_DASHBOARD_TOKEN'),
      monitor: readToken('monitor.tokenFile', config.monitor.tokenFile, env.KRE_MONITOR_TOKEN, 'KRE_MONITOR_TOKEN'),
      manager: readToken('manager.tokenFile', config.manager.tokenFile, env.KRE_MANAGER_TOKEN, 'KRE_MANAGER_TOKEN'),
    },
  };
}
