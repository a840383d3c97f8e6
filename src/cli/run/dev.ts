/**
 * `kre dev` running: every flag checked before anything starts (a bad one exits 2 naming it), then
 * the parts, one line on stderr as each comes up, what to do next, and a clean stop on a signal.
 */
import { resolve } from 'node:path';
import { ConfigError, parseHostPort } from '../../kube/index.ts';
import { nextSteps } from '../dev/next-steps.ts';
import { findPrometheus, PrometheusStartError } from '../dev/prometheus.ts';
import { startDev, type DevOptions, type DevPrometheusOptions } from '../dev/start.ts';
import { runPart } from '../part.ts';
import { UsageError } from '../usage.ts';

interface DevFlags {
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
  quiet?: boolean;
}

type Report = (part: string, line: string) => void;

const PART_WIDTH = 11;

function invalid(flag: string, expected: string, value: string): ConfigError {
  return new ConfigError(`invalid configuration: ${flag}: expected ${expected}, got ${JSON.stringify(value)}`, flag);
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(flag, `a whole number from ${min} to ${max}`, value);
  return n;
}

function checkListen(flag: string, value: string): string {
  if (!parseHostPort(value)) throw invalid(flag, 'HOST:PORT with a port from 0 to 65535', value);
  return value;
}

/** Prometheus' options, or undefined (with the reason said) when it is off or not installed. */
function prometheusOptions(flags: DevFlags, report: Report): DevPrometheusOptions | undefined {
  if (!flags.prometheus) {
    report('prometheus', 'off (--no-prometheus): the manager reads version metrics from metrics.k8s.io');
    return undefined;
  }
  const listen = checkListen('--prometheus-listen', flags.prometheusListen);
  if (!/^\d+[smhdwy]$/.test(flags.prometheusRetention)) throw invalid('--prometheus-retention', 'a duration such as 2d or 12h', flags.prometheusRetention);
  if (!/^\d+(?:B|KB|MB|GB|TB)$/.test(flags.prometheusRetentionSize)) throw invalid('--prometheus-retention-size', 'a size such as 512MB or 2GB', flags.prometheusRetentionSize);
  const scrapeIntervalSeconds = wholeNumber('--scrape-interval', flags.scrapeInterval, 1, 300);
  let bin;
  try {
    bin = findPrometheus();
  } catch (err) {
    if (err instanceof PrometheusStartError) throw new UsageError(err.message);
    throw err;
  }
  if (!bin) {
    report('prometheus', 'not installed: the manager reads version metrics from metrics.k8s.io meanwhile.');
    report('', 'To run it: `sudo apt-get install prometheus` (Debian, Ubuntu), then restart kre dev');
    report('', '(the package starts a system-wide prometheus too: `sudo systemctl disable --now prometheus` if 9090 is taken).');
    return undefined;
  }
  return { bin, listen, scrapeIntervalSeconds, retentionTime: flags.prometheusRetention, retentionSize: flags.prometheusRetentionSize };
}

function devOptions(flags: DevFlags, report: Report): DevOptions {
  return {
    stateDir: resolve(flags.stateDir),
    nodes: wholeNumber('--nodes', flags.nodes, 1, 1000),
    listen: checkListen('--listen', flags.listen),
    monitorListen: checkListen('--monitor-listen', flags.monitorListen),
    managerListen: checkListen('--manager-listen', flags.managerListen),
    dashboardListen: checkListen('--dashboard-listen', flags.dashboardListen),
    prometheus: prometheusOptions(flags, report),
    report,
  };
}

export async function runDev(flags: DevFlags): Promise<void> {
  const report: Report = flags.quiet ? () => {} : (part, line) => void process.stderr.write(`kre dev: ${part.padEnd(PART_WIDTH)}${line}\n`);
  const o = devOptions(flags, report);
  await runPart('dev', async ({ defer }) => {
    report('starting', `in ${o.stateDir}`);
    const env = await startDev(o);
    defer(() => env.stop());
    if (!flags.quiet) process.stderr.write(nextSteps(env));
    return {
      url: env.cluster.url,
      kubeconfig: env.cluster.kubeconfigPath,
      monitor: env.monitor.url,
      manager: env.manager.manager.address,
      dashboard: env.dashboard.url,
      prometheus: env.prometheus?.url,
      clientConfig: env.clientConfigPath,
      agents: env.agents.map((a) => `${a.url}/metrics`),
    };
  });
}
