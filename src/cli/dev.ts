/**
 * `kre dev`: KRE on a machine with nothing installed. A devcluster with simulated nodes, the
 * operator (cluster-wide), the monitor, one agent per node, Prometheus (when installed), the
 * manager and the dashboard. The flags only: `run/dev.ts` starts it.
 */
import { Command } from 'commander';
import { defaultStateDir } from './state-dir.ts';

export function devCommand(): Command {
  return new Command('dev')
    .description('run KRE on this machine: a devcluster with nodes, the operator, the monitor, an agent per node, Prometheus, the manager and the dashboard')
    .option('--state-dir <dir>', "where the devcluster's objects, the credentials, Prometheus' data and client.yaml are kept (else KRE_DEV_STATE_DIR)", defaultStateDir())
    .option('--listen <host:port>', "the devcluster's API address (port 0 picks a free one, then kept)", '127.0.0.1:0')
    .option('--monitor-listen <host:port>', "the monitor's HTTP address", '127.0.0.1:8003')
    .option('--manager-listen <host:port>', "the manager's gRPC address (the seed's port)", '127.0.0.1:50051')
    .option('--dashboard-listen <host:port>', "the dashboard's address", '127.0.0.1:8080')
    .option('--nodes <n>', 'simulated nodes', '3')
    .option('--no-prometheus', 'do not run Prometheus; the manager reads metrics.k8s.io')
    .option('--prometheus-listen <host:port>', "Prometheus' address (port 0 picks a free one)", '127.0.0.1:9090')
    .option('--scrape-interval <seconds>', 'how often Prometheus scrapes (else KRE_DEV_SCRAPE_INTERVAL)', process.env.KRE_DEV_SCRAPE_INTERVAL ?? '5')
    .option('--prometheus-retention <duration>', 'how long Prometheus keeps data', '2d')
    .option('--prometheus-retention-size <size>', 'the most disk space Prometheus data takes', '1GB')
    .option('--quiet', 'no progress lines on stderr while the parts start')
    .action(async (flags) => (await import('./run/dev.ts')).runDev(flags));
}
