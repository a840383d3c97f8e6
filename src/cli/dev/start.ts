/**
 * Starts what `kre dev` runs, each part reaching the cluster as it would on a real one (through the
 * kubeconfig and the network, never by importing each other), and says so as each comes up. A part
 * that fails to start stops those already running, in reverse order.
 */
import { join } from 'node:path';
import { startDevCluster, StateDirLockedError, type DevCluster } from '../../devcluster/index.ts';
import { createLogger, KubeClient } from '../../kube/index.ts';
import { parseAgentConfig, startAgent, type RunningAgent } from '../../agent/index.ts';
import { parseMonitorConfig, startMonitor, type Monitor } from '../../monitor/index.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../../operator/index.ts';
import { clientConfigPath, writeClientConfig } from '../client-config.ts';
import { UsageError } from '../usage.ts';
import { keptToken, managerCertificate } from './credentials.ts';
import { DASHBOARD_MONITOR_RESOURCES, startDevDashboard, type DevDashboard } from './dashboard.ts';
import { startDevManager, type DevManager } from './manager.ts';
import { PrometheusStartError, startPrometheus, type RunningPrometheus } from './prometheus.ts';

export interface DevPrometheusOptions {
  /** The `prometheus` executable. */
  bin: string;
  /** HOST:PORT; port 0 picks a free one. */
  listen: string;
  /** Seconds between scrapes. */
  scrapeIntervalSeconds: number;
  retentionTime: string;
  retentionSize: string;
}

export interface DevOptions {
  stateDir: string;
  listen: string;
  monitorListen: string;
  nodes: number;
  /** The manager's gRPC address; default 127.0.0.1:0 (a free port). */
  managerListen?: string;
  /** Run Prometheus and take version metrics from it; without, the manager reads metrics.k8s.io. */
  prometheus?: DevPrometheusOptions;
  /** The dashboard's address; default 127.0.0.1:0 (a free port). */
  dashboardListen?: string;
  /** How often the manager's metrics streams look for new points (default 5 s). */
  metricsPollIntervalSeconds?: number;
  /** Told of each part as it comes up: the part and one line about it. */
  report?: (part: string, line: string) => void;
}

export interface DevEnvironment {
  cluster: DevCluster;
  operator: Operator;
  monitor: Monitor;
  monitorToken: string;
  monitorTokenFile: string;
  /** One agent per simulated node, reading its kubelet and its cgroup files. */
  agents: RunningAgent[];
  manager: DevManager;
  managerToken: string;
  /** The manager's self-signed certificate, which its clients trust. */
  managerCertFile: string;
  prometheus?: RunningPrometheus;
  dashboard: DevDashboard;
  /** `<stateDir>/client.yaml`, which the kre client commands read. */
  clientConfigPath: string;
  stop(): Promise<void>;
}

/** Pod labels `kube_pod_labels` carries: those the manager's queries and the seed's dashboards select on. */
const POD_LABELS_ALLOWLIST = ['version-name', 'type', 'node-name', 'node-id', 'app'];

/**
 * An agent for each simulated node: that node's kubelet over HTTPS with the cluster's token, and
 * its cgroup tree. The simulated kubelets sign their serving certificates themselves, as kubelets
 * without server TLS bootstrap do, so the agents skip verifying them (the token still goes only to
 * the node's own loopback address).
 */
async function startNodeAgents(cluster: DevCluster, stateDir: string): Promise<RunningAgent[]> {
  const agents: RunningAgent[] = [];
  try {
    for (const n of cluster.nodes.list()) {
      if (!n.kubelet || !n.cgroupRoot) continue;
      const config = parseAgentConfig({
        node: n.name,
        listen: '127.0.0.1:0',
        kubelet: { url: `https://${n.kubelet.host}:${n.kubelet.port}`, insecure: true, tokenFile: join(stateDir, 'pki', 'token') },
        cgroup: { root: n.cgroupRoot },
      });
      agents.push(await startAgent({ config, logger: createLogger('agent').child({ node: n.name }) }));
    }
    return agents;
  } catch (err) {
    await Promise.all(agents.map((a) => a.stop()));
    throw err;
  }
}

const hostOf = (url: string) => new URL(url).host;

/**
 * The window of the CPU query's rate(): four scrapes, at least 20 s. The seed's 5m suits a
 * cluster's Prometheus scraping every 30 s or more; kre dev scrapes every few seconds, and with 5m
 * a new version's CPU would read low for its first five minutes while the window fills.
 */
export function rateWindowFor(scrapeIntervalSeconds: number): string {
  return `${Math.max(20, 4 * scrapeIntervalSeconds)}s`;
}

export async function startDev(o: DevOptions): Promise<DevEnvironment> {
  const report = o.report ?? (() => {});
  const log = createLogger('dev');
  const undo: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const u of undo.splice(0).reverse()) await u();
  };
  let t = Date.now();
  const took = () => {
    const ms = Date.now() - t;
    t = Date.now();
    return `${(ms / 1000).toFixed(1)} s`;
  };
  try {
    const cluster = await startDevCluster({ stateDir: o.stateDir, listen: o.listen, nodes: o.nodes }).catch((err: unknown) => {
      throw err instanceof StateDirLockedError ? new UsageError(err.message) : err;
    });
    undo.push(() => cluster.stop());
    const n = cluster.nodes.list().length;
    report('devcluster', `${cluster.url}, ${n} node${n === 1 ? '' : 's'} (${took()})`);

    const client = new KubeClient(cluster.kubeConfig(), { userAgent: 'kre-operator' });
    undo.push(() => client.close());
    await installCustomResourceDefinitions(client);
    const operator = startOperator({ client, logger: createLogger('operator'), leaderElection: false });
    undo.push(() => operator.stop());
    report('operator', `cluster-wide, custom resources installed (${took()})`);

    const monitorToken = keptToken(o.stateDir, 'monitor-token');
    const monitor = await startMonitor({
      config: parseMonitorConfig({ listen: o.monitorListen, resources: DASHBOARD_MONITOR_RESOURCES, kubeStateMetrics: { podLabelsAllowlist: POD_LABELS_ALLOWLIST } }),
      token: monitorToken.token,
      kubeConfig: cluster.kubeConfig(),
      logger: createLogger('monitor'),
    });
    undo.push(() => monitor.stop());
    report('monitor', `${monitor.url} (${took()})`);

    const agents = await startNodeAgents(cluster, o.stateDir);
    undo.push(() => Promise.all(agents.map((a) => a.stop())).then(() => {}));
    report('agents', `${agents.length}, one per node: ${agents.map((a) => a.url).join(' ')} (${took()})`);

    let prometheus: RunningPrometheus | undefined;
    if (o.prometheus) {
      const p = o.prometheus;
      prometheus = await startPrometheus({
        bin: p.bin,
        dir: join(o.stateDir, 'prometheus'),
        listen: p.listen,
        retentionTime: p.retentionTime,
        retentionSize: p.retentionSize,
        scrape: { monitorUrl: monitor.url, monitorTokenFile: monitorToken.path, clusterTokenFile: join(o.stateDir, 'pki', 'token'), scrapeInterval: `${p.scrapeIntervalSeconds}s` },
        log: createLogger('prometheus'),
      }).catch((err: unknown) => {
        throw err instanceof PrometheusStartError ? new UsageError(err.message) : err;
      });
      const running = prometheus;
      undo.push(() => running.stop());
      report('prometheus', `${prometheus.url}, scraping every ${p.scrapeIntervalSeconds} s, data in ${join(o.stateDir, 'prometheus', 'data')} (${took()})`);
    }

    const managerToken = keptToken(o.stateDir, 'manager-token');
    const tls = await managerCertificate(o.stateDir);
    const manager = await startDevManager({
      kubeConfig: cluster.kubeConfig(),
      listen: o.managerListen ?? '127.0.0.1:0',
      token: managerToken.token,
      tls,
      prometheus: prometheus && o.prometheus ? { url: prometheus.url, rateWindow: rateWindowFor(o.prometheus.scrapeIntervalSeconds) } : undefined,
      pollIntervalSeconds: o.metricsPollIntervalSeconds ?? 5,
    }).catch((err: unknown) => {
      throw new UsageError(`manager: cannot start on ${o.managerListen ?? '127.0.0.1:0'}: ${(err as Error).message}`);
    });
    undo.push(() => manager.stop());
    report('manager', `grpcs://${manager.manager.address}, version metrics from ${manager.metricsSource === 'prometheus' ? `Prometheus (rate window ${rateWindowFor(o.prometheus!.scrapeIntervalSeconds)})` : 'metrics.k8s.io'} (${took()})`);

    const dashboard = await startDevDashboard({
      stateDir: o.stateDir,
      listen: o.dashboardListen ?? '127.0.0.1:0',
      monitorUrl: monitor.url,
      monitorToken: monitorToken.token,
      managerAddress: manager.manager.address,
      managerToken: managerToken.token,
      managerCaFile: tls.certFile,
    }).catch((err: unknown) => {
      throw new UsageError(`dashboard: cannot start on ${o.dashboardListen ?? '127.0.0.1:0'}: ${(err as Error).message}`);
    });
    undo.push(() => dashboard.stop());
    report('dashboard', `${dashboard.url} (log in with the token in ${dashboard.tokenFile}) (${took()})`);

    prometheus?.setParts([
      ...agents.map((a, i) => ({ targets: [hostOf(a.url)], labels: { job: 'kre-agent', node: cluster.nodes.list()[i]?.name ?? '' } })),
      { targets: [hostOf(manager.http.url)], labels: { job: 'kre-manager' } },
      { targets: [hostOf(monitor.url)], labels: { job: 'kre-monitor' } },
    ]);

    const clientConfig = clientConfigPath(o.stateDir);
    writeClientConfig(
      {
        manager: { address: manager.manager.address, token: managerToken.token, tls: { caFile: tls.certFile } },
        monitor: { url: monitor.url, token: monitorToken.token },
        ...(prometheus ? { prometheus: { url: prometheus.url } } : {}),
        kubeconfig: cluster.kubeconfigPath,
      },
      clientConfig,
    );
    log.debug('all parts started');
    const stopAll = unwind;
    return {
      cluster,
      operator,
      monitor,
      monitorToken: monitorToken.token,
      monitorTokenFile: monitorToken.path,
      agents,
      manager,
      managerToken: managerToken.token,
      managerCertFile: tls.certFile,
      prometheus,
      dashboard,
      clientConfigPath: clientConfig,
      async stop() {
        // Prometheus takes longest to end: it is told first and awaited last.
        const prometheusStopped = prometheus?.stop();
        await stopAll();
        await prometheusStopped;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
