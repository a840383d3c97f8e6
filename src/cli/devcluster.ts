import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { startDevCluster, StateDirLockedError } from '../devcluster/index.ts';
import { UsageError } from './main.ts';
import { parseListen } from '../devcluster/cluster.ts';
import { KubeClient, loadKubeConfig } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { startWorkloads } from '../devcluster/nodes/index.ts';
import { untilSignal } from './signals.ts';

export function defaultStateDir(): string {
  return process.env.KRE_DEVCLUSTER_STATE_DIR ?? join(homedir(), '.kre', 'devcluster');
}

/** A bad --listen is bad usage (status 2), found before anything starts. */
function listenAddress(value: string): string {
  try {
    parseListen(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function devclusterCommand(): Command {
  return new Command('devcluster')
    .description('run an embedded Kubernetes-compatible API server on this machine')
    .option('--state-dir <dir>', 'where objects, credentials and the port are kept', defaultStateDir())
    .option('--listen <host:port>', 'address to serve on (port 0 picks a free one, then kept in the state dir)', listenAddress, '127.0.0.1:0')
    .option('--write-kubeconfig <path>', 'where to write the kubeconfig for clients (default: <state-dir>/kubeconfig)')
    .option('--nodes <n>', 'simulated nodes with kubelets, the scheduler and the workload controllers (0: the API server alone)', count, 3)
    .option('--max-pods <n>', 'pods per simulated node', count, 110)
    .addCommand(nodesCommand())
    .action(async (opts: { stateDir: string; listen: string; writeKubeconfig?: string; nodes: number; maxPods: number }) => {
      const log = createLogger('devcluster');
      const cluster = await startDevCluster({
        stateDir: resolve(opts.stateDir),
        listen: opts.listen,
        kubeconfigPath: opts.writeKubeconfig ? resolve(opts.writeKubeconfig) : undefined,
        nodes: opts.nodes,
        maxPods: opts.maxPods,
      }).catch((err: unknown) => {
        // Another devcluster owns the state dir: a usage error (status 2), nothing was touched.
        throw err instanceof StateDirLockedError ? new UsageError(err.message) : err;
      });
      process.stderr.write(`\nThe devcluster serves ${cluster.url}\nTry: KUBECONFIG=${cluster.kubeconfigPath} kubectl get namespaces\n\n`);
      log.info({ url: cluster.url, kubeconfig: cluster.kubeconfigPath, stateDir: cluster.stateDir }, 'ready');
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await cluster.stop();
      log.info('stopped');
    });
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
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
      const opts = this.optsWithGlobals() as { kubeconfig?: string; nodes?: number; maxPods?: number; controllers?: boolean };
      const local = this.opts() as { nodes?: number; maxPods?: number };
      const log = createLogger('devcluster-nodes');
      const { kc, source } = loadKubeConfig({ kubeconfig: opts.kubeconfig });
      const client = new KubeClient(kc, { userAgent: 'kre-devcluster-nodes' });
      const workloads = await startWorkloads({
        client,
        log,
        nodes: local.nodes ?? opts.nodes ?? 3,
        maxPods: local.maxPods ?? opts.maxPods ?? 110,
        controllers: opts.controllers === true,
        // A real controller manager may run no node lifecycle controller (envtest-like setups do
        // not): the nodes' not-ready taint must go once they are Ready.
        nodeLifecycle: true,
        scheduler: true,
      });
      log.info({ server: client.server.href, kubeconfig: source, nodes: workloads.kubelets.map((k) => k.name), controllers: opts.controllers === true }, 'ready');
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await workloads.stop();
      client.close();
      log.info('stopped');
    });
}
