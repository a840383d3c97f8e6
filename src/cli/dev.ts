/**
 * `kre dev`: KRE on a machine with nothing installed. A devcluster with simulated nodes, the
 * operator (cluster-wide), the monitor, one agent per node, Prometheus (when installed) and the
 * manager, in one process but Prometheus; it writes the client configuration that the `kre`
 * client commands read, and says on stderr what came up and what to do next.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../kube/index.ts';
import { defaultStateDir } from './client-config.ts';
import { nextSteps } from './dev/next-steps.ts';
import { findPrometheus, PrometheusStartError } from './dev/prometheus.ts';
import { startDev, type DevPrometheusOptions } from './dev/start.ts';
import { UsageError } from './main.ts';
import { untilSignal } from './signals.ts';

export { startDev, type DevEnvironment, type DevOptions, type DevPrometheusOptions } from './dev/start.ts';

interface Flags {
  stateDir: string;
  listen: string;
  monitorListen: string;
  managerListen: string;
  dashboardListen: string;
  nodes: string;
  prometheus: boolean;
  prometheusListen: string;
  scrapeInterval: string;
  prometheusRetention: string;
  prometheusRetentionSize: string;
}

const PART_WIDTH = 11;

/** One line on stderr per part as it comes up. */
function reportLine(part: string, line: string): void {
  process.stderr.write(`kre dev: ${part.padEnd(PART_WIDTH)}${line}\n`);
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** Prometheus' options, or undefined (with the reason said) when it is off or not installed. */
function prometheusOptions(flags: Flags): DevPrometheusOptions | undefined {
  if (!flags.prometheus) {
    reportLine('prometheus', 'off (--no-prometheus): the manager reads version metrics from metrics.k8s.io');
    return undefined;
  }
  let bin;
  try {
    bin = findPrometheus();
  } catch (err) {
    if (err instanceof PrometheusStartError) throw new UsageError(err.message);
    throw err;
  }
  if (!bin) {
    reportLine('prometheus', 'not installed: the manager reads version metrics from metrics.k8s.io meanwhile.');
    reportLine('', 'To run it: `sudo apt-get install prometheus` (Debian, Ubuntu), then restart kre dev');
    reportLine('', '(the package starts a system-wide prometheus too: `sudo systemctl disable --now prometheus` if 9090 is taken).');
    return undefined;
  }
  if (!/^(?:\[[^\]]+\]|[^:[\]]*):\d{1,5}$/.test(flags.prometheusListen)) throw new UsageError(`--prometheus-listen: expected HOST:PORT, got ${JSON.stringify(flags.prometheusListen)}`);
  if (!/^\d+[smhdwy]$/.test(flags.prometheusRetention)) throw new UsageError(`--prometheus-retention: expected a duration such as 2d or 12h, got ${JSON.stringify(flags.prometheusRetention)}`);
  if (!/^\d+(?:B|KB|MB|GB|TB)$/.test(flags.prometheusRetentionSize)) throw new UsageError(`--prometheus-retention-size: expected a size such as 512MB or 2GB, got ${JSON.stringify(flags.prometheusRetentionSize)}`);
  return {
    bin,
    listen: flags.prometheusListen,
    scrapeIntervalSeconds: wholeNumber('--scrape-interval', flags.scrapeInterval, 1, 300),
    retentionTime: flags.prometheusRetention,
    retentionSize: flags.prometheusRetentionSize,
  };
}

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
    .option('--prometheus-retention <duration>', "how long Prometheus keeps data", '2d')
    .option('--prometheus-retention-size <size>', 'the most disk space Prometheus data takes', '1GB')
    .action(async (flags: Flags) => {
      const nodes = wholeNumber('--nodes', flags.nodes, 1, 1000);
      const stateDir = resolve(flags.stateDir);
      const log = createLogger('dev');
      reportLine('starting', `in ${stateDir}`);
      const prometheus = prometheusOptions(flags);
      const env = await startDev({
        stateDir,
        listen: flags.listen,
        monitorListen: flags.monitorListen,
        managerListen: flags.managerListen,
        dashboardListen: flags.dashboardListen,
        nodes,
        prometheus,
        report: reportLine,
      });
      process.stderr.write(nextSteps(env));
      log.info(
        {
          url: env.cluster.url,
          kubeconfig: env.cluster.kubeconfigPath,
          monitor: env.monitor.url,
          manager: env.manager.manager.address,
          dashboard: env.dashboard.url,
          prometheus: env.prometheus?.url,
          clientConfig: env.clientConfigPath,
          agents: env.agents.map((a) => `${a.url}/metrics`),
        },
        'ready',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await env.stop();
      log.info('stopped');
    });
}
