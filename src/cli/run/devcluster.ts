/** `kre devcluster` and `kre devcluster nodes` running. */
import { resolve } from 'node:path';
import { startDevCluster, StateDirLockedError } from '../../devcluster/index.ts';
import { startWorkloads } from '../../devcluster/nodes/index.ts';
import { ConfigError, parseHostPort } from '../../kube/index.ts';
import { kubeClient, runPart } from '../part.ts';
import { UsageError } from '../usage.ts';

interface DevClusterFlags {
  stateDir: string;
  listen: string;
  writeKubeconfig?: string;
  nodes: number;
  maxPods: number;
}

export async function runDevCluster(flags: DevClusterFlags): Promise<void> {
  if (!parseHostPort(flags.listen)) throw new ConfigError(`invalid configuration: --listen: expected HOST:PORT with a port from 0 to 65535, got ${JSON.stringify(flags.listen)}`, 'listen');
  await runPart('devcluster', async ({ defer }) => {
    const cluster = await startDevCluster({
      stateDir: resolve(flags.stateDir),
      listen: flags.listen,
      kubeconfigPath: flags.writeKubeconfig ? resolve(flags.writeKubeconfig) : undefined,
      nodes: flags.nodes,
      maxPods: flags.maxPods,
    }).catch((err: unknown) => {
      // Another devcluster owns the state dir: a usage error (status 2), nothing was touched.
      throw err instanceof StateDirLockedError ? new UsageError(err.message) : err;
    });
    defer(() => cluster.stop());
    process.stderr.write(`\nThe devcluster serves ${cluster.url}\nTry: KUBECONFIG=${cluster.kubeconfigPath} kubectl get namespaces\n\n`);
    return { url: cluster.url, kubeconfig: cluster.kubeconfigPath, stateDir: cluster.stateDir };
  });
}

export async function runNodes(o: { kubeconfig?: string; nodes: number; maxPods: number; controllers: boolean }): Promise<void> {
  const { client, source } = kubeClient(o.kubeconfig, 'devcluster-nodes');
  await runPart('devcluster-nodes', async ({ log, defer }) => {
    defer(() => client.close());
    const workloads = await startWorkloads({
      client,
      log,
      nodes: o.nodes,
      maxPods: o.maxPods,
      controllers: o.controllers,
      // A real controller manager may run no node lifecycle controller (envtest-like setups do
      // not): the nodes' not-ready taint must go once they are Ready.
      nodeLifecycle: true,
      scheduler: true,
    });
    defer(() => workloads.stop());
    return { server: client.server.href, kubeconfig: source, nodes: workloads.kubelets.map((k) => k.name), controllers: o.controllers };
  });
}
