/**
 * `kre monitor`: caches pods, deployments, PVCs, services, ingresses and nodes (and any configured
 * resource) and serves them over HTTP.
 */
import { Command } from 'commander';

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('cache cluster state from watches and periodic verification, and serve it over HTTP')
    .option('--kubeconfig <path>', 'the cluster to watch (else KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--listen <host:port>', 'address of the HTTP API (port 0 picks a free one; default 127.0.0.1:8003)')
    .option('--config <file>', 'YAML configuration')
    .option('--token-file <path>', 'file holding the bearer token clients must present (else KRE_MONITOR_TOKEN)')
    .option('--namespace <name>', "the monitor's own namespace, for its canary ConfigMap and its Lease (default kre-monitor)")
    .option('--redis <url>', 'keep state in Redis shared by replicas: redis://[user@]host:port or rediss:// (else KRE_MONITOR_REDIS_URL; password from the URL, redis.passwordFile or KRE_MONITOR_REDIS_PASSWORD)')
    .action(async (flags) => (await import('./run/monitor.ts')).runMonitor(flags));
}
