import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startDevCluster } from '../devcluster/index.ts';
import { createLogger } from '../kube/logger.ts';
import { untilSignal } from './signals.ts';

export function defaultStateDir(): string {
  return process.env.KRE_DEVCLUSTER_STATE_DIR ?? join(homedir(), '.kre', 'devcluster');
}

export function devclusterCommand(): Command {
  return new Command('devcluster')
    .description('run an embedded Kubernetes-compatible API server on this machine')
    .option('--state-dir <dir>', 'where objects, credentials and the port are kept', defaultStateDir())
    .option('--listen <host:port>', 'address to serve on (port 0 picks a free one, then kept in the state dir)', '127.0.0.1:0')
    .option('--write-kubeconfig <path>', 'where to write the kubeconfig for clients (default: <state-dir>/kubeconfig)')
    .action(async (opts: { stateDir: string; listen: string; writeKubeconfig?: string }) => {
      const log = createLogger('devcluster');
      const cluster = await startDevCluster({
        stateDir: resolve(opts.stateDir),
        listen: opts.listen,
        kubeconfigPath: opts.writeKubeconfig ? resolve(opts.writeKubeconfig) : undefined,
      });
      log.info({ url: cluster.url, kubeconfig: cluster.kubeconfigPath, stateDir: cluster.stateDir }, 'ready');
      process.stderr.write(`\nThe devcluster serves ${cluster.url}\nTry: KUBECONFIG=${cluster.kubeconfigPath} kubectl get namespaces\n\n`);
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await cluster.stop();
      log.info('stopped');
    });
}
