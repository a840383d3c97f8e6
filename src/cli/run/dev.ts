/**
 * `kre dev`: KRE on a machine with nothing installed. A devcluster with simulated nodes, the
 * operator (cluster-wide, its CRDs installed) and the monitor, in one process, each reaching the
 * cluster as it would on a real one: through the kubeconfig, never by importing each other.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDevCluster, StateDirLockedError, type DevCluster } from '../../devcluster/index.ts';
import { ConfigError, createLogger, KubeClient, parseHostPort } from '../../kube/index.ts';
import { parseAgentConfig, startAgent, type RunningAgent } from '../../agent/index.ts';
import { parseMonitorConfig, startMonitor, type Monitor } from '../../monitor/index.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../../operator/index.ts';
import { listening, runPart } from '../part.ts';
import { UsageError } from '../usage.ts';

export interface DevOptions {
  stateDir: string;
  listen: string;
  monitorListen: string;
  nodes: number;
  /** Told one line as each part comes up (`kre dev` writes them to stderr). */
  progress?: (line: string) => void;
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
  const started = Date.now();
  const progress = (line: string) => o.progress?.(`${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const monitorConfig = parseMonitorConfig({ listen: o.monitorListen });
  progress(`starting the devcluster with ${o.nodes} simulated nodes in ${o.stateDir}`);
  const cluster = await startDevCluster({ stateDir: o.stateDir, listen: o.listen, nodes: o.nodes }).catch((err: unknown) => {
    throw err instanceof StateDirLockedError ? new UsageError(err.message) : err;
  });
  progress(`devcluster serving ${cluster.url}`);
  const client = new KubeClient(cluster.kubeConfig(), { userAgent: 'kre-operator' });
  let operator: Operator | undefined;
  try {
    await installCustomResourceDefinitions(client);
    operator = startOperator({ client, logger: createLogger('operator'), leaderElection: false });
    progress('operator reconciling Runtimes and RuntimeVersions in all namespaces');
    const token = monitorToken(o.stateDir);
    const monitor = await listening('--monitor-listen', o.monitorListen, () =>
      startMonitor({ config: monitorConfig, token, kubeConfig: cluster.kubeConfig(), logger: createLogger('monitor') }),
    );
    progress(`monitor serving ${monitor.url}`);
    let agents: RunningAgent[];
    try {
      agents = await startNodeAgents(cluster, o.stateDir);
    } catch (err) {
      await monitor.stop();
      throw err;
    }
    progress(`agents measuring ${agents.length} nodes`);
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

interface DevFlags {
  stateDir: string;
  listen: string;
  monitorListen: string;
  nodes: string;
  quiet?: boolean;
}

/** Every flag is checked before anything starts: a bad one exits 2 naming it. */
function devOptions(flags: DevFlags): DevOptions {
  const nodes = Number(flags.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 1000) throw new ConfigError(`invalid configuration: --nodes: expected a whole number from 1 to 1000, got ${JSON.stringify(flags.nodes)}`, 'nodes');
  for (const [flag, value] of [['--listen', flags.listen], ['--monitor-listen', flags.monitorListen]]) {
    if (!parseHostPort(value)) throw new ConfigError(`invalid configuration: ${flag}: expected HOST:PORT with a port from 0 to 65535, got ${JSON.stringify(value)}`, flag);
  }
  const progress = flags.quiet ? undefined : (line: string) => void process.stderr.write(`kre dev: ${line}\n`);
  return { stateDir: resolve(flags.stateDir), listen: flags.listen, monitorListen: flags.monitorListen, nodes, progress };
}

export async function runDev(flags: DevFlags): Promise<void> {
  const o = devOptions(flags);
  await runPart('dev', async ({ defer }) => {
    const env = await startDev(o);
    defer(() => env.stop());
    const tokenFile = join(o.stateDir, 'monitor-token');
    process.stderr.write(
      `\nKRE is running.\n` +
        `  cluster:  KUBECONFIG=${env.cluster.kubeconfigPath} kubectl get nodes\n` +
        `  runtimes: KUBECONFIG=${env.cluster.kubeconfigPath} kubectl get runtimes -A\n` +
        `  monitor:  curl -H "Authorization: Bearer $(cat ${tokenFile})" ${env.monitor.url}/pods\n` +
        (env.agents.length > 0 ? `  agents:   curl ${env.agents[0].url}/metrics  (one per node)\n` : '') +
        '\n',
    );
    return { url: env.cluster.url, kubeconfig: env.cluster.kubeconfigPath, monitor: env.monitor.url, monitorTokenFile: tokenFile, agents: env.agents.map((a) => `${a.url}/metrics`) };
  });
}
