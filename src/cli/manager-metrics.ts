/**
 * The resource-metrics flags of `kre manager` (the rest of its `metrics` configuration comes from
 * the YAML file and `KRE_MANAGER_PROMETHEUS_*` / `KRE_MANAGER_METRICS_*`), and their start: secrets
 * only from files, never from a flag's value.
 */
import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../kube/index.ts';
import type { Logger } from '../kube/index.ts';
import type { ManagerConfig } from '../manager/index.ts';
import { MetricsConfigError } from '../manager/metrics/index.ts';
import { startResourceMetricsService } from '../manager/resource-metrics-service.ts';
import { UsageError } from './main.ts';

export function addMetricsOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-source <source>', 'where version metrics come from: prometheus, metrics-api (metrics.k8s.io) or auto (Prometheus when it answers at start; the default)')
    .option('--prometheus-url <url>', "Prometheus' base URL, a path prefix included (default http://localhost:9090)")
    .option('--prometheus-timeout <seconds>', 'timeout of each query (default 10)')
    .option('--prometheus-token-file <path>', 'file holding a bearer token for Prometheus')
    .option('--prometheus-username <name>', 'basic-auth user for Prometheus (the password from --prometheus-password-file)')
    .option('--prometheus-password-file <path>', "file holding the basic-auth user's password")
    .option('--prometheus-ca-file <path>', "CA certificate (PEM) to trust for Prometheus' HTTPS")
    .option('--prometheus-insecure-skip-verify', "do not verify Prometheus' certificate")
    .option('--metrics-poll-interval <seconds>', 'how often WatchVersion looks for new points (default 10)');
}

/** The resource metrics for `startManager` (`resourceMetrics`, `resourceMetricsReady`); close them before stopping it. */
export async function startManagerMetrics(config: ManagerConfig, kube: KubeClient, logger: Logger, registry: Registry) {
  try {
    return await startResourceMetricsService({ config: config.metrics, kube, logger, registry });
  } catch (err) {
    if (err instanceof MetricsConfigError) throw new UsageError(err.message);
    throw err;
  }
}
