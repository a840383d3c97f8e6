/**
 * `kre monitor`: caches pods, deployments, PVCs, services, ingresses and nodes (and any configured
 * resource) and serves them over HTTP. Bad configuration exits 2 naming the field.
 */
import { Command } from 'commander';
import { KubeConfigError, loadKubeConfig } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { ConfigError, loadMonitorConfig, startMonitor } from '../monitor/index.ts';
import { UsageError } from './main.ts';
import { untilSignal } from './signals.ts';

interface Flags {
  kubeconfig?: string;
  listen?: string;
  config?: string;
  tokenFile?: string;
  namespace?: string;
  redis?: string;
}

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('cache cluster state from watches and periodic verification, and serve it over HTTP')
    .option('--kubeconfig <path>', 'the cluster to watch (else KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--listen <host:port>', 'address of the HTTP API (port 0 picks a free one; default 127.0.0.1:8003)')
    .option('--config <file>', 'YAML configuration')
    .option('--token-file <path>', 'file holding the bearer token clients must present (else KRE_MONITOR_TOKEN)')
    .option('--namespace <name>', "the monitor's own namespace, for its canary ConfigMap and its Lease (default kre-monitor)")
    .option('--redis <url>', 'keep state in Redis shared by replicas: redis://[user@]host:port or rediss:// (else KRE_MONITOR_REDIS_URL; password from the URL, redis.passwordFile or KRE_MONITOR_REDIS_PASSWORD)')
    .action(async (flags: Flags) => {
      const log = createLogger('monitor');
      let loaded;
      try {
        loaded = loadMonitorConfig({ flags });
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      let kc;
      try {
        kc = loadKubeConfig({ kubeconfig: loaded.config.kubeconfig }).kc;
      } catch (err) {
        if (err instanceof KubeConfigError) throw new UsageError(err.message);
        throw err;
      }
      const monitor = await startMonitor({ config: loaded.config, token: loaded.token, redisPassword: loaded.redisPassword, kubeConfig: kc, logger: log });
      log.info(
        { url: monitor.url, ...(loaded.config.redis ? { store: 'redis', identity: monitor.identity, writer: monitor.isWriter() } : { store: 'memory', resources: [...monitor.watches.keys()] }) },
        'ready',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await monitor.stop();
      log.info('stopped');
    });
}
