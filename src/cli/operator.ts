/**
 * `kre operator`: runs the operator (all namespaces, or one with `--namespace`/`WATCH_NAMESPACE`);
 * `kre operator install` applies the CRDs; `kre operator manifests` writes `deploy/`.
 */
import { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KubeClient, KubeConfigError, loadKubeConfig } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { installCustomResourceDefinitions, startOperator } from '../operator/index.ts';
import { ConfigError, loadOperatorConfig } from '../operator/config.ts';
import { renderDeployManifests } from '../operator/deploy.ts';
import { manifestsCommand } from './manifests.ts';
import { serveHealthAndMetrics } from '../kube/serve-http.ts';
import { untilSignal } from './signals.ts';

/** Bad usage or configuration: exit status 2, with the message naming the field. */
function usageFailure(err: unknown): never {
  process.stderr.write(`kre operator: ${(err as Error).message}\n`);
  process.exit(2);
}

function clientFor(kubeconfig: string | undefined): KubeClient {
  try {
    return new KubeClient(loadKubeConfig({ kubeconfig }).kc, { userAgent: 'kre-operator' });
  } catch (err) {
    if (err instanceof KubeConfigError) usageFailure(err);
    throw err;
  }
}

export function operatorCommand(): Command {
  const cmd = new Command('operator')
    .description('reconcile Runtime and RuntimeVersion resources into the workloads of KRE runtimes')
    .option('--kubeconfig <path>', 'the cluster to use (else KUBECONFIG, ~/.kube/config, the in-cluster service account)')
    .option('--config <file>', 'YAML configuration file')
    .option('--namespace <namespace>', 'watch only this namespace (also WATCH_NAMESPACE); default: all namespaces')
    .option('--listen <host:port>', 'address of /metrics, /livez and /readyz (port 0 picks a free one)')
    .option('--workers <n>', 'reconciles in parallel per controller')
    .option('--lease-namespace <namespace>', 'namespace of the leader election Lease')
    .option('--no-leader-elect', 'reconcile at once, without leader election (a single instance only)')
    .action(async (opts: { kubeconfig?: string; config?: string; namespace?: string; listen?: string; workers?: string; leaseNamespace?: string; leaderElect: boolean }) => {
      let config;
      try {
        config = loadOperatorConfig({ file: opts.config, flags: { ...opts, leaderElect: opts.leaderElect ? undefined : false } });
      } catch (err) {
        if (err instanceof ConfigError) usageFailure(err);
        throw err;
      }
      const log = createLogger('operator');
      const client = clientFor(config.kubeconfig);
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const le = config.leaderElection;
      const op = startOperator({
        client,
        namespace: config.namespace,
        logger: log,
        registry,
        workers: config.workers,
        leaderElection: le.enabled ? { namespace: le.namespace ?? config.namespace, leaseDurationMs: le.leaseDurationMs, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs } : false,
      });
      let http;
      try {
        http = await serveHealthAndMetrics(op, config.listen);
      } catch (err) {
        await op.stop();
        usageFailure(new Error(`listen: cannot serve on ${config.listen}: ${(err as Error).message}`));
      }
      log.info(
        { metrics: `${http.url}/metrics`, livez: `${http.url}/livez`, readyz: `${http.url}/readyz`, namespace: config.namespace ?? '(all)', identity: op.identity },
        'ready',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await op.stop();
      await http.close();
      client.close();
      log.info('stopped');
    });

  cmd
    .command('install')
    .description('apply the Runtime and RuntimeVersion CRDs and wait until they are served')
    .option('--kubeconfig <path>', 'the cluster to install into')
    .action(async (opts: { kubeconfig?: string }) => {
      const client = clientFor(opts.kubeconfig ?? cmd.opts().kubeconfig);
      const names = await installCustomResourceDefinitions(client);
      process.stdout.write(names.map((n) => `customresourcedefinition.apiextensions.k8s.io/${n} established\n`).join(''));
      client.close();
    });

  cmd.addCommand(manifestsCommand('write the CRDs, RBAC and Deployments of deploy/', renderDeployManifests));
  return cmd;
}
