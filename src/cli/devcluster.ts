/**
 * `kre devcluster`: an embedded Kubernetes-compatible API server with simulated nodes;
 * `kre devcluster nodes`: the simulated nodes alone, for any API server.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';

export function defaultStateDir(): string {
  return process.env.KRE_DEVCLUSTER_STATE_DIR ?? join(homedir(), '.kre', 'devcluster');
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

export function devclusterCommand(): Command {
  return new Command('devcluster')
    .description('run an embedded Kubernetes-compatible API server on this machine')
    .option('--state-dir <dir>', 'where objects, credentials and the port are kept', defaultStateDir())
    .option('--listen <host:port>', 'address to serve on (port 0 picks a free one, then kept in the state dir)', '127.0.0.1:0')
    .option('--write-kubeconfig <path>', 'where to write the kubeconfig for clients (default: <state-dir>/kubeconfig)')
    .option('--nodes <n>', 'simulated nodes with kubelets, the scheduler and the workload controllers (0: the API server alone)', count, 3)
    .option('--max-pods <n>', 'pods per simulated node', count, 110)
    .addCommand(nodesCommand())
    .action(async (opts) => (await import('./run/devcluster.ts')).runDevCluster(opts));
}

/**
 * `kre devcluster nodes`: the simulated nodes (and with --controllers the workload controllers)
 * for any API server, as KWOK does: a devcluster started with --nodes 0, or a real cluster.
 */
function nodesCommand(): Command {
  return new Command('nodes')
    .description('run simulated nodes, their kubelets and the scheduler against an API server')
    .option('--kubeconfig <path>', 'the cluster to serve (else KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--nodes <n>', 'how many nodes (kre-node-1…); default 3', count)
    .option('--max-pods <n>', 'pods per node; default 110', count)
    .option('--controllers', 'also run the workload controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Endpoints)')
    .action(async function (this: Command) {
      // --nodes and --max-pods may also be parsed by the parent command; local values win.
      const opts = this.optsWithGlobals<{ kubeconfig?: string; nodes?: number; maxPods?: number; controllers?: boolean }>();
      const local = this.opts<{ nodes?: number; maxPods?: number }>();
      await (await import('./run/devcluster.ts')).runNodes({ kubeconfig: opts.kubeconfig, nodes: local.nodes ?? opts.nodes ?? 3, maxPods: local.maxPods ?? opts.maxPods ?? 110, controllers: opts.controllers === true });
    });
}
