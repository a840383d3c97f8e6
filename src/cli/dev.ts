/**
 * `kre dev`: KRE on a machine with nothing installed. A devcluster with simulated nodes, the
 * operator (cluster-wide, its CRDs installed) and the monitor, in one process, each reaching the
 * cluster as it would on a real one: through the kubeconfig, never by importing each other.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startDevCluster, StateDirLockedError, type DevCluster } from '../devcluster/index.ts';
import { KubeClient } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { parseAgentConfig, startAgent, type RunningAgent } from '../agent/index.ts';
import { parseMonitorConfig, startMonitor, type Monitor } from '../monitor/index.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../operator/index.ts';
import { DASHBOARD_MONITOR_RESOURCES } from './dev-dashboard.ts';
import { UsageError } from './main.ts';
import { untilSignal } from './signals.ts';

export interface DevOptions {
  stateDir: string;
  listen: string;
  monitorListen: string;
  nodes: number;
}

export interface DevEnvironment {
  cluster: DevCluster;
  operator: Operator;
  monitor: Monitor;
  monitorToken: string;
  /** One agent per simulated node, reading its kubelet and its cgroup files. */
  agents: RunningAgent[];
  stop(): Promise<void>;
}

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

/** The monitor's token, made once and kept in the state dir so that its clients keep working. */
function monitorToken(stateDir: string): string {
  const path = join(stateDir, 'monitor-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return token;
}

export async function startDev(o: DevOptions): Promise<DevEnvironment> {
  const log = createLogger('dev');
  const cluster = await startDevCluster({ stateDir: o.stateDir, listen: o.listen, nodes: o.nodes }).catch((err: unknown) => {
    throw err instanceof StateDirLockedError ? new UsageError(err.message) : err;
  });
  const client = new KubeClient(cluster.kubeConfig(), { userAgent: 'kre-operator' });
  let operator: Operator | undefined;
  try {
    await installCustomResourceDefinitions(client);
    operator = startOperator({ client, logger: createLogger('operator'), leaderElection: false });
    const token = monitorToken(o.stateDir);
    const monitor = await startMonitor({
      config: parseMonitorConfig({ listen: o.monitorListen, resources: DASHBOARD_MONITOR_RESOURCES }),
      token,
      kubeConfig: cluster.kubeConfig(),
      logger: createLogger('monitor'),
    });
    let agents: RunningAgent[];
    try {
      agents = await startNodeAgents(cluster, o.stateDir);
    } catch (err) {
      await monitor.stop();
      throw err;
    }
    log.debug('all parts started');
    const op = operator;
    return {
      cluster,
      operator: op,
      monitor,
      monitorToken: token,
      agents,
      async stop() {
        await Promise.all(agents.map((a) => a.stop()));
        await monitor.stop();
        await op.stop();
        client.close();
        await cluster.stop();
      },
    };
  } catch (err) {
    await operator?.stop();
    client.close();
    await cluster.stop();
    throw err;
  }
}

export function devCommand(): Command {
  return new Command('dev')
    .description('run KRE on this machine: a devcluster with nodes, the operator and the monitor')
    .option('--state-dir <dir>', "where the devcluster's objects and credentials are kept", process.env.KRE_DEV_STATE_DIR ?? join(homedir(), '.kre', 'dev'))
    .option('--listen <host:port>', "the devcluster's API address (port 0 picks a free one, then kept)", '127.0.0.1:0')
    .option('--monitor-listen <host:port>', "the monitor's HTTP address", '127.0.0.1:8003')
    .option('--nodes <n>', 'simulated nodes', '3')
    .action(async (flags: { stateDir: string; listen: string; monitorListen: string; nodes: string }) => {
      const nodes = Number(flags.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 1000) throw new UsageError(`--nodes must be a whole number from 1 to 1000, got ${JSON.stringify(flags.nodes)}`);
      const log = createLogger('dev');
      const env = await startDev({ stateDir: resolve(flags.stateDir), listen: flags.listen, monitorListen: flags.monitorListen, nodes });
      log.info(
        { url: env.cluster.url, kubeconfig: env.cluster.kubeconfigPath, monitor: env.monitor.url, monitorTokenFile: join(resolve(flags.stateDir), 'monitor-token'), agents: env.agents.map((a) => `${a.url}/metrics`) },
        'ready',
      );
      process.stderr.write(
        `\nKRE is running.\n` +
          `  cluster:  KUBECONFIG=${env.cluster.kubeconfigPath} kubectl get nodes\n` +
          `  runtimes: KUBECONFIG=${env.cluster.kubeconfigPath} kubectl get runtimes -A\n` +
          `  monitor:  curl -H "Authorization: Bearer $(cat ${join(resolve(flags.stateDir), 'monitor-token')})" ${env.monitor.url}/pods\n` +
          (env.agents.length > 0 ? `  agents:   curl ${env.agents[0].url}/metrics  (one per node)\n` : '') +
          '\n',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await env.stop();
      log.info('stopped');
    });
}
