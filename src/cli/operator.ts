/**
 * `kre operator`: runs the operator (all namespaces, or one with `--namespace`/`WATCH_NAMESPACE`);
 * `kre operator install` applies the CRDs; `kre operator manifests` writes `deploy/`.
 */
import { Command } from 'commander';
import { manifestsCommand } from './manifests.ts';

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
    .action(async (flags) => (await import('./run/operator.ts')).runOperator(flags));

  cmd
    .command('install')
    .description('apply the Runtime and RuntimeVersion CRDs and wait until they are served')
    .option('--kubeconfig <path>', 'the cluster to install into')
    .action(async (opts: { kubeconfig?: string }) => (await import('./run/operator.ts')).installOperatorCrds(opts.kubeconfig ?? cmd.opts<{ kubeconfig?: string }>().kubeconfig));

  cmd.addCommand(manifestsCommand('write the CRDs, RBAC and Deployments of deploy/', async () => (await import('../operator/index.ts')).renderDeployManifests()));
  return cmd;
}
