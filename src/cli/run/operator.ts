/** `kre operator` running: configuration and kubeconfig first, then the controllers and their HTTP server. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { leaseTimingsMs, servePartHttp } from '../../kube/index.ts';
import { installCustomResourceDefinitions, loadOperatorConfig, startOperator } from '../../operator/index.ts';
import { kubeClient, listening, runPart } from '../part.ts';

interface Flags {
  kubeconfig?: string;
  config?: string;
  namespace?: string;
  listen?: string;
  workers?: string;
  leaseNamespace?: string;
  leaderElect: boolean;
}

export async function runOperator(flags: Flags): Promise<void> {
  const config = loadOperatorConfig({ file: flags.config, flags: { ...flags, leaderElect: flags.leaderElect ? undefined : false } });
  const { client } = kubeClient(config.kubeconfig, 'operator');
  await runPart('operator', async ({ log, defer }) => {
    defer(() => client.close());
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const le = config.leaderElection;
    const op = startOperator({
      client,
      namespace: config.namespace,
      logger: log,
      registry,
      workers: config.workers,
      leaderElection: le.enabled ? { namespace: le.namespace ?? config.namespace, ...leaseTimingsMs(le) } : false,
    });
    defer(() => op.stop());
    const http = await listening('listen', config.listen, () => servePartHttp({ listen: config.listen, ready: () => op.ready(), metrics: registry }));
    defer(() => http.close());
    return { metrics: `${http.url}/metrics`, livez: `${http.url}/livez`, readyz: `${http.url}/readyz`, namespace: config.namespace ?? '(all)', identity: op.identity };
  });
}

export async function installOperatorCrds(kubeconfig: string | undefined): Promise<void> {
  const { client } = kubeClient(kubeconfig, 'operator');
  try {
    const names = await installCustomResourceDefinitions(client);
    process.stdout.write(names.map((n) => `customresourcedefinition.apiextensions.k8s.io/${n} established\n`).join(''));
  } finally {
    client.close();
  }
}
